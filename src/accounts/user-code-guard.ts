// RFC 8628 §5.1: user codes are short, so guesses are budgeted per session, per address
// (IPv6 per /64) and globally. The global budget is split so that spending it cannot
// pause code entry for everyone: anonymous visitors share one (USER_CODE_FAILURES_GLOBAL),
// and once it is spent people sign in first and guess against their account's own budget
// and one all accounts share (USER_CODE_FAILURES_SIGNED_IN). The two shared budgets are
// what the start-up arithmetic bounds (src/oauth/guess-bound.ts). A guess takes its
// attempt from every budget before the lookup, each with one conditional upsert that
// refuses past the budget (PrismaAttemptStore.reserve), so parallel guesses cannot
// overshoot; a code that turns out to exist gives its attempt back, so only wrong entries
// (malformed ones included) stay counted.
import type { AttemptStore, Counter } from '../oauth/stores.js'
import { addressUnit } from './address.js'
import { userCodeAccountKey, userCodeGlobalKey, userCodeIpKey, userCodeSessionKey, userCodeSignedInKey } from './throttle-keys.js'

export interface UserCodeBudgets { global: number, perIp: number, perSession: number, perAccount: number, signedIn: number, windowSeconds: number }
/** userId when the visitor is signed in: their guesses count against their account, not the anonymous budget. */
export interface Visitor { ip: string, session: string, userId?: string }
export type UserCodeBudget = 'session' | 'address' | 'anonymous' | 'account' | 'signedIn'

export type Reservation =
  /** The guess may be checked; `spent` when this attempt used up a budget; release() if the code exists. */
  | { ok: true, spent: Date | null, release: () => Promise<void> }
  /** Refused before any lookup: which budget is spent, and until when. */
  | { ok: false, budget: UserCodeBudget, until: Date }

export class UserCodeGuard {
  constructor (private readonly attempts: AttemptStore, private readonly budgets: UserCodeBudgets) {}

  /**
   * Reserves one attempt in every budget, the narrowest first: a visitor whose session
   * or address budget is spent never touches the shared counters, so one guesser cannot
   * hold shared attempts it is not allowed to use.
   */
  async reserve (v: Visitor, now: Date): Promise<Reservation> {
    type Check = [UserCodeBudget, string, number]
    const shared: Check[] = v.userId === undefined
      ? [['anonymous', userCodeGlobalKey, this.budgets.global]]
      : [['account', userCodeAccountKey(v.userId), this.budgets.perAccount], ['signedIn', userCodeSignedInKey, this.budgets.signedIn]]
    const checks: Check[] = [
      ['session', userCodeSessionKey(v.session), this.budgets.perSession],
      ['address', userCodeIpKey(addressUnit(v.ip)), this.budgets.perIp],
      ...shared
    ]
    const taken: Array<[string, Counter]> = []
    const releaseAll = async () => { await Promise.all(taken.map(async ([key, c]) => { await this.attempts.release(key, c.windowEnds) })) }
    let spent: Date | null = null
    try {
      for (const [budget, key, limit] of checks) {
        const counter = await this.attempts.reserve(key, limit, this.budgets.windowSeconds, now)
        if (counter === null) {
          await releaseAll()
          const current = await this.attempts.peek(key, now)
          return { ok: false, budget, until: current?.windowEnds ?? now }
        }
        taken.push([key, counter])
        if (counter.count >= limit && (spent === null || counter.windowEnds > spent)) spent = counter.windowEnds
      }
    } catch (err) {
      // The database failed mid-way (the request ends in 503): no verdict was reached, so
      // the attempts taken so far go back (best effort) instead of spending shared budgets.
      await releaseAll().catch(() => {})
      throw err
    }
    return { ok: true, spent, release: releaseAll }
  }

  /** True while anonymous code entry is paused (the anonymous budget is spent): people sign in first. */
  async anonymousPaused (now: Date): Promise<boolean> {
    const c = await this.attempts.peek(userCodeGlobalKey, now)
    return c !== null && c.count >= this.budgets.global
  }
}
