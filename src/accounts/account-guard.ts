import type { AttemptStore, UserRecord, UserStore } from '../oauth/stores.js'
import { loginFailuresKey } from './throttle-keys.js'

/** Whether an account may (still) receive tokens: enabled and not locked out by sign-in throttling. */
export class AccountGuard {
  constructor (
    private readonly users: UserStore,
    private readonly attempts: AttemptStore,
    private readonly maxFailuresPerAccount: number
  ) {}

  /** The user when enabled and not locked out, else null. */
  async activeUser (userId: string, now: Date): Promise<UserRecord | null> {
    const user = await this.users.findUserById(userId)
    if (user === null || !user.enabled || await this.isLocked(user.username, now)) return null
    return user
  }

  /**
   * Locked by settled failures, not by the sign-in budget's count: that one also holds
   * attempts still being verified, and a sign-in in flight must not cost the account's
   * devices their tokens for its duration.
   */
  async isLocked (username: string, now: Date): Promise<boolean> {
    const c = await this.attempts.peek(loginFailuresKey(username), now)
    return c !== null && c.count >= this.maxFailuresPerAccount
  }
}
