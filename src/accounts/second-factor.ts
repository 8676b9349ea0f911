// The second-factor policy and verification with throttling: what sign-in, the
// approval step-up and the account pages ask of the method registry.
import type { AttemptStore } from '../oauth/stores.js'
import type { FactorRegistry } from './factors/registry.js'
import type { FactorContext, FactorRecord, FactorResponse, FactorStore, Verified } from './factors/types.js'
import { secondFactorAccountKey } from './throttle-keys.js'

/** off: never asked; enrolled: asked of those who set one up; always: everyone must have one to approve a device. */
export type SecondFactorPolicy = 'off' | 'enrolled' | 'always'

export interface SecondFactorSettings {
  policy: SecondFactorPolicy
  stepUpMaxAgeSeconds: number
  /** Failed codes per account before verification pauses (like LOGIN_FAILURES_PER_ACCOUNT). */
  failuresPerAccount: number
  lockoutSeconds: number
}

export type VerifyOutcome =
  | { ok: true, verified: Verified, amr: string[] }
  | { ok: false, reason: 'invalid' }
  | { ok: false, reason: 'locked', retryAt: Date }

/** What approving a device asks first: nothing, a fresh proof, or enrolling a method. */
export type ApprovalNeed = 'none' | 'proof' | 'enrol'

export class SecondFactorService {
  constructor (
    readonly registry: FactorRegistry,
    private readonly factors: FactorStore,
    private readonly attempts: AttemptStore,
    readonly settings: SecondFactorSettings
  ) {}

  /** Active configurations of enabled methods, oldest first. */
  async active (userId: string): Promise<FactorRecord[]> {
    return (await this.factors.listForUser(userId)).filter(f => f.status === 'active' && this.registry.has(f.method))
  }

  /** Has a method that counts by itself (recovery codes only back the others up). */
  async enrolled (userId: string): Promise<boolean> {
    return (await this.active(userId)).some(f => this.registry.get(f.method)?.primary === true)
  }

  /** Sign-in asks for the second factor after the password. */
  async askAtSignIn (userId: string): Promise<boolean> {
    return this.settings.policy !== 'off' && await this.enrolled(userId)
  }

  /** A client registered with --require-second-factor is treated as `always`. */
  async approvalNeeds (userId: string, clientRequires: boolean): Promise<ApprovalNeed> {
    const policy = clientRequires ? 'always' : this.settings.policy
    if (policy === 'off') return 'none'
    const enrolled = await this.enrolled(userId)
    if (enrolled) return 'proof'
    return policy === 'always' ? 'enrol' : 'none'
  }

  /**
   * Verifies a response with one method, throttled per account like passwords: after
   * `failuresPerAccount` failures verification pauses for `lockoutSeconds`, whatever is sent.
   */
  async verify (method: string, ctx: FactorContext, response: FactorResponse, challenge?: string): Promise<VerifyOutcome> {
    const key = secondFactorAccountKey(ctx.user.id)
    // The attempt reserves its place in the budget before it is verified (one conditional
    // upsert): with a check first and a count after, parallel guesses at a six-digit code
    // each passed the check, and the budget bounded nothing.
    const reserved = await this.attempts.reserve(key, this.settings.failuresPerAccount, this.settings.lockoutSeconds, ctx.now)
    if (reserved === null) {
      const counter = await this.attempts.peek(key, ctx.now)
      return { ok: false, reason: 'locked', retryAt: counter?.windowEnds ?? ctx.now }
    }
    const impl = this.registry.get(method)
    const verified = impl === undefined ? null : await impl.verify(ctx, response, challenge)
    if (impl === undefined || verified === null || verified.userId !== ctx.user.id) {
      if (reserved.count >= this.settings.failuresPerAccount) return { ok: false, reason: 'locked', retryAt: reserved.windowEnds }
      return { ok: false, reason: 'invalid' }
    }
    await this.attempts.clear(key)
    return { ok: true, verified: { factorId: verified.factorId, method: verified.method }, amr: [...impl.amr] }
  }

  async lockedUntil (userId: string, now: Date): Promise<Date | null> {
    const counter = await this.attempts.peek(secondFactorAccountKey(userId), now)
    return counter !== null && counter.count >= this.settings.failuresPerAccount ? counter.windowEnds : null
  }
}
