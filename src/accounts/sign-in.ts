// Username/password sign-in with throttling per account and per IP (temporary
// lockout, counted in the database so it holds across instances).
import type { AttemptStore, UserRecord, UserStore } from '../oauth/stores.js'
import { dummyHash, hashPassword, hasPassword, needsRehash, verifyPassword } from './password.js'
import { loginAccountKey, loginIpKey } from './throttle-keys.js'

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

  async signIn (username: string, password: string, ip: string, now: Date): Promise<SignInResult> {
    const [account, byIp] = await Promise.all([
      this.attempts.peek(loginAccountKey(username), now),
      this.attempts.peek(loginIpKey(ip), now)
    ])
    const lockedUntil = [
      account !== null && account.count >= this.limits.perAccount ? account.windowEnds : null,
      byIp !== null && byIp.count >= this.limits.perIp ? byIp.windowEnds : null
    ].filter((d): d is Date => d !== null)
    if (lockedUntil.length > 0) {
      return { ok: false, reason: 'locked', retryAt: new Date(Math.max(...lockedUntil.map(d => d.getTime()))) }
    }

    const user = await this.users.findUserByUsername(username)
    // Same work for an unknown user, or one without a password (upstream sign-in only),
    // as for a wrong password: one argon2 verification.
    const usable = user !== null && hasPassword(user.passwordHash)
    const valid = await verifyPassword(usable ? user.passwordHash : await dummyHash(), password)
    if (user === null || !usable || !valid || !user.enabled) {
      await Promise.all([
        this.attempts.hit(loginAccountKey(username), this.limits.lockoutSeconds, now),
        this.attempts.hit(loginIpKey(ip), this.limits.lockoutSeconds, now)
      ])
      return { ok: false, reason: 'invalid' }
    }
    await this.attempts.clear(loginAccountKey(username))
    if (needsRehash(user.passwordHash)) await this.users.updatePasswordHash(user.id, await hashPassword(password))
    return { ok: true, user }
  }
}
