// RFC 8628 §5.1: user codes are short, so guesses are budgeted per session, per address
// (IPv6 per /64) and globally; the global budget is what the start-up arithmetic in
// config.ts bounds. A guess takes its attempt from every budget before the lookup, each
// with one conditional upsert that refuses past the budget (PrismaAttemptStore.reserve),
// so parallel guesses cannot overshoot; a code that turns out to exist gives its attempt
// back, so only wrong entries (malformed ones included) stay counted.
import type { AttemptStore, Counter } from '../oauth/stores.js'
import { addressUnit } from './address.js'
import { userCodeGlobalKey, userCodeIpKey, userCodeSessionKey } from './throttle-keys.js'

export interface UserCodeBudgets { global: number, perIp: number, perSession: number, windowSeconds: number }
export interface Visitor { ip: string, session: string }
export type UserCodeBudget = 'session' | 'address' | 'global'

export type Reservation =
  /** The guess may be checked; `spent` when this attempt used up a budget; release() if the code exists. */
  | { ok: true, spent: Date | null, release: () => Promise<void> }
  /** Refused before any lookup: which budget is spent, and until when. */
  | { ok: false, budget: UserCodeBudget, until: Date }

export class UserCodeGuard {
  constructor (private readonly attempts: AttemptStore, private readonly budgets: UserCodeBudgets) {}

  /**
   * Reserves one attempt in every budget, the narrowest first: a visitor whose session
   * or address budget is spent never touches the global counter, so one guesser cannot
   * hold global attempts it is not allowed to use.
   */
  async reserve (v: Visitor, now: Date): Promise<Reservation> {
    const checks: Array<[UserCodeBudget, string, number]> = [
      ['session', userCodeSessionKey(v.session), this.budgets.perSession],
      ['address', userCodeIpKey(addressUnit(v.ip)), this.budgets.perIp],
      ['global', userCodeGlobalKey, this.budgets.global]
    ]
    const taken: Array<[string, Counter]> = []
    const releaseAll = async () => { await Promise.all(taken.map(async ([key, c]) => { await this.attempts.release(key, c.windowEnds) })) }
    let spent: Date | null = null
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
    return { ok: true, spent, release: releaseAll }
  }
}
