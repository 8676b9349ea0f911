// One-time confirmation states (request → confirm → check → use), after django-otp's
// challenge/verify split: a state is made for one purpose (sign in, approve device X,
// enrol, disable), bound to the browser session that asked for it, expires within
// minutes, and is used once. The token travels in the form; only its SHA-256 is stored.
import { randomBytes } from 'node:crypto'
import { sha256 } from '../oauth/codes.js'

export type ConfirmationPurpose = 'sign_in' | 'step_up' | 'enrol' | 'passkey_sign_in'

export interface ConfirmationRecord {
  id: string
  userId: string | null
  purpose: ConfirmationPurpose
  subject: string | null
  binding: string
  data: string | null
  createdAt: Date
  expiresAt: Date
  usedAt: Date | null
}

export interface ConfirmationStore {
  create (record: ConfirmationRecord): Promise<void>
  find (id: string): Promise<ConfirmationRecord | null>
  /** Sets usedAt if the state is unused, unexpired and has this binding and purpose: true for exactly one caller. */
  use (id: string, binding: string, purpose: ConfirmationPurpose, now: Date): Promise<boolean>
}

export interface ConfirmationRequest {
  purpose: ConfirmationPurpose
  userId: string | null
  /** The session's binding value (never stored as it is). */
  binding: string
  subject?: string | null
  data?: unknown
  now: Date
}

export interface ConfirmationCheck {
  purpose: ConfirmationPurpose
  binding: string
  now: Date
  /** When given, the state must be about this (a device authorization id, a factor id). */
  subject?: string | null
}

export class Confirmations {
  constructor (private readonly store: ConfirmationStore, private readonly ttlSeconds: number) {}

  /** Makes a state and returns the token the form carries. */
  async request (req: ConfirmationRequest): Promise<string> {
    const token = randomBytes(32).toString('base64url')
    await this.store.create({
      id: sha256(token),
      userId: req.userId,
      purpose: req.purpose,
      subject: req.subject ?? null,
      binding: sha256(req.binding),
      data: req.data === undefined ? null : JSON.stringify(req.data),
      createdAt: req.now,
      expiresAt: new Date(req.now.getTime() + this.ttlSeconds * 1000),
      usedAt: null
    })
    return token
  }

  /** The live, unused state of this purpose, session and subject, or null. Changes nothing. */
  async check (token: unknown, c: ConfirmationCheck): Promise<ConfirmationRecord | null> {
    if (typeof token !== 'string' || token === '' || token.length > 100) return null
    const rec = await this.store.find(sha256(token))
    if (rec === null || rec.usedAt !== null || rec.expiresAt <= c.now) return null
    if (rec.purpose !== c.purpose || rec.binding !== sha256(c.binding)) return null
    if (c.subject !== undefined && rec.subject !== c.subject) return null
    return rec
  }

  /** check, then the conditional update: the record for the one caller that used it, else null. */
  async use (token: unknown, c: ConfirmationCheck): Promise<ConfirmationRecord | null> {
    const rec = await this.check(token, c)
    if (rec === null) return null
    return await this.store.use(rec.id, rec.binding, c.purpose, c.now) ? rec : null
  }

  /**
   * The challenge a method signs for this state (WebAuthn): the stored id, SHA-256 of the
   * 256-bit token, so it is unpredictable, used once with the state, and needs no column.
   */
  static challengeOf (token: string): string {
    return sha256(token)
  }

  static data<T> (rec: ConfirmationRecord): T | null {
    return rec.data === null ? null : JSON.parse(rec.data) as T
  }
}
