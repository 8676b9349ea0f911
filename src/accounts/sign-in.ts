// Username/password sign-in with throttling per account and per IP (temporary
// lockout, counted in the database so it holds across instances).
import type { AttemptStore, Counter, UserRecord, UserStore } from '../oauth/stores.js'
import { dummyHash, hashPassword, hasPassword, needsRehash, verifyPassword } from './password.js'
import { loginAccountKey, loginFailuresKey, loginIpKey } from './throttle-keys.js'

/** How long an attempt waits for the verdicts of others that fill the account's budget. */
const ACCOUNT_WAIT_MS = 5000

export interface SignInLimits { perAccount: number, perIp: number, lockoutSeconds: number }

export type SignInResult =
  | { ok: true, user: UserRecord }
  | { ok: false, reason: 'invalid' }
  | { ok: false, reason: 'locked', retryAt: Date }

export class SignInService {
  constructor (
    private readonly users: UserStore,
    private readonly attempts: AttemptStore,
    private readonly limits: SignInLimits
  ) {}

  /**
   * Each attempt first reserves its place in both budgets (one conditional upsert each, as
   * for code entry): a check followed by a count after the slow argon2 verification let
   * parallel guesses overshoot the budget by the number in flight (test/pages/sign-in-
   * concurrency.test.ts). A failure keeps its reservations; a success clears the account's
   * count and gives the address's back.
   */
  async signIn (username: string, password: string, ip: string, now: Date): Promise<SignInResult> {
    const accountKey = loginAccountKey(username)
    const ipKey = loginIpKey(ip)
    const account = await this.reserveAccount(accountKey, username, now)
    const byIp = account === null ? null : await this.attempts.reserve(ipKey, this.limits.perIp, this.limits.lockoutSeconds, now)
    if (account === null || byIp === null) {
      if (account !== null) await this.attempts.release(accountKey, account.windowEnds)
      return { ok: false, reason: 'locked', retryAt: await this.lockedUntil(accountKey, ipKey, now) }
    }

    let user: UserRecord | null
    let usable: boolean
    let valid: boolean
    try {
      user = await this.users.findUserByUsername(username)
      // Same work for an unknown user, or one without a password (upstream sign-in only),
      // as for a wrong password: one argon2 verification.
      usable = user !== null && hasPassword(user.passwordHash)
      valid = await verifyPassword(usable && user !== null ? user.passwordHash : await dummyHash(), password)
    } catch (err) {
      // No verdict (the database failed): the places go back rather than counting a failure.
      await Promise.all([this.attempts.release(accountKey, account.windowEnds), this.attempts.release(ipKey, byIp.windowEnds)]).catch(() => {})
      throw err
    }
    if (user === null || !usable || !valid || !user.enabled) {
      // The reservations stay as the budget's count; the settled count locks tokens (AccountGuard).
      await this.attempts.hit(loginFailuresKey(username), this.limits.lockoutSeconds, now)
      return { ok: false, reason: 'invalid' }
    }
    await this.attempts.clear(accountKey)
    await this.attempts.clear(loginFailuresKey(username))
    await this.attempts.release(ipKey, byIp.windowEnds)
    if (needsRehash(user.passwordHash)) await this.users.updatePasswordHash(user.id, await hashPassword(password))
    return { ok: true, user }
  }

  /**
   * The account's place. A full budget may be full of attempts still being verified (ten
   * people of one family signing in at once, say): while the settled failures are below the
   * budget, the verdicts of those are awaited (a success frees its place) for up to
   * ACCOUNT_WAIT_MS; once the failures alone fill it, the account is locked at once.
   */
  private async reserveAccount (accountKey: string, username: string, now: Date): Promise<Counter | null> {
    const until = Date.now() + ACCOUNT_WAIT_MS
    for (;;) {
      const place = await this.attempts.reserve(accountKey, this.limits.perAccount, this.limits.lockoutSeconds, now)
      if (place !== null) return place
      const settled = await this.attempts.peek(loginFailuresKey(username), now)
      if ((settled?.count ?? 0) >= this.limits.perAccount || Date.now() >= until) return null
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  /** When the spent budget (account or address) opens again. */
  private async lockedUntil (accountKey: string, ipKey: string, now: Date): Promise<Date> {
    const [account, byIp] = await Promise.all([this.attempts.peek(accountKey, now), this.attempts.peek(ipKey, now)])
    const ends = [
      account !== null && account.count >= this.limits.perAccount ? account.windowEnds.getTime() : 0,
      byIp !== null && byIp.count >= this.limits.perIp ? byIp.windowEnds.getTime() : 0
    ]
    return new Date(Math.max(now.getTime(), ...ends))
  }
}
