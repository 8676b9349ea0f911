// RFC 8628 §5.1: user codes are short, so guesses are budgeted per session, per IP and
// globally (the global budget is what the start-up arithmetic in config.ts bounds).
// Only failed entries count, malformed ones included; the check before a lookup and
// the count after a miss are separate statements, so concurrent guesses at the very
// edge of a budget can overshoot it by the number in flight.
import type { AttemptStore, Counter } from '../oauth/stores.js'
import { userCodeGlobalKey, userCodeIpKey, userCodeSessionKey } from './throttle-keys.js'

export interface UserCodeBudgets { global: number, perIp: number, perSession: number, windowSeconds: number }
export interface Visitor { ip: string, session: string }

export class UserCodeGuard {
  constructor (private readonly attempts: AttemptStore, private readonly budgets: UserCodeBudgets) {}

  /** When the visitor may try again, or null when a guess is allowed now. */
  async lockedUntil (v: Visitor, now: Date): Promise<Date | null> {
    const checks: Array<[string, number]> = [
      [userCodeGlobalKey, this.budgets.global],
      [userCodeIpKey(v.ip), this.budgets.perIp],
      [userCodeSessionKey(v.session), this.budgets.perSession]
    ]
    const counters = await Promise.all(checks.map(async ([key]) => await this.attempts.peek(key, now)))
    const exhausted = counters.filter((c, i): c is Counter => c !== null && c.count >= (checks[i]?.[1] ?? 0))
    if (exhausted.length === 0) return null
    return new Date(Math.max(...exhausted.map(c => c.windowEnds.getTime())))
  }

  async failed (v: Visitor, now: Date): Promise<void> {
    const w = this.budgets.windowSeconds
    await Promise.all([
      this.attempts.hit(userCodeGlobalKey, w, now),
      this.attempts.hit(userCodeIpKey(v.ip), w, now),
      this.attempts.hit(userCodeSessionKey(v.session), w, now)
    ])
  }
}
