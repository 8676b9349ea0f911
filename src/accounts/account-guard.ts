import type { AttemptStore, UserStore } from '../oauth/stores.js'
import { loginAccountKey } from './throttle-keys.js'

/** Whether an account may (still) receive tokens: enabled and not locked out by sign-in throttling. */
export class AccountGuard {
  constructor (
    private readonly users: UserStore,
    private readonly attempts: AttemptStore,
    private readonly maxFailuresPerAccount: number
  ) {}

  async mayReceiveTokens (userId: string, now: Date): Promise<boolean> {
    const user = await this.users.findUserById(userId)
    if (user === null || !user.enabled) return false
    return !await this.isLocked(user.username, now)
  }

  async isLocked (username: string, now: Date): Promise<boolean> {
    const c = await this.attempts.peek(loginAccountKey(username), now)
    return c !== null && c.count >= this.maxFailuresPerAccount
  }
}
