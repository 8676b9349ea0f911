// Second-factor methods behind one interface (enrol → confirm enrolment → challenge →
// verify → disable), after django-otp's devices and django-two-factor-auth's methods:
// a new method (e-mail code, push) is one file here plus its line in registry.ts.
// Nothing here imports Fastify or Prisma: src/storage/factor-store.ts implements FactorStore.
import type { UserRecord } from '../../oauth/stores.js'

export const METHOD_IDS = ['totp', 'passkey', 'recovery_codes'] as const
export type MethodId = typeof METHOD_IDS[number]

/** One configured method of one person (a row of SecondFactor). */
export interface FactorRecord {
  id: string
  userId: string
  method: MethodId
  name: string
  status: 'pending' | 'active'
  /** TOTP seed, sealed with the key derived from SECRET_KEY. */
  secret: string | null
  lastStep: number | null
  credentialId: string | null
  publicKey: string | null
  counter: number
  transports: string | null
  createdAt: Date
  lastUsedAt: Date | null
}

export type NewFactor = Pick<FactorRecord, 'id' | 'userId' | 'method' | 'name' | 'status' | 'createdAt'> &
  Partial<Pick<FactorRecord, 'secret' | 'credentialId' | 'publicKey' | 'counter' | 'transports'>>

export interface FactorStore {
  create (factor: NewFactor): Promise<FactorRecord>
  findById (id: string): Promise<FactorRecord | null>
  findByCredentialId (credentialId: string): Promise<FactorRecord | null>
  /** Active and pending ones, oldest first. */
  listForUser (userId: string): Promise<FactorRecord[]>
  /** pending → active, once. */
  activate (id: string, userId: string, name: string, now: Date, lastStep?: number): Promise<boolean>
  /** TOTP: records `step` as used if it is later than the last used one (RFC 6238 §5.2: accepted once). */
  useStep (id: string, step: number, now: Date): Promise<boolean>
  /** Passkey: moves the signature counter from `from` to `to` (a conditional update: one of two racing uses wins). */
  useCounter (id: string, from: number, to: number, now: Date): Promise<boolean>
  /** Records a use (last-used time on the person's page). */
  touch (id: string, now: Date): Promise<void>
  rename (id: string, userId: string, name: string): Promise<boolean>
  remove (id: string, userId: string): Promise<boolean>
  /** Pending enrolments of this method that were never confirmed. */
  removePending (userId: string, method: MethodId): Promise<void>
  /** Every method and recovery code of the person (an operator's reset). */
  removeAll (userId: string): Promise<number>
}

export interface RecoveryCodeStore {
  /** Replaces the person's codes with these hashes. */
  replace (userId: string, codeHashes: string[], now: Date): Promise<void>
  /** Marks the code used if it is the person's and unused: true for exactly one caller. */
  use (userId: string, codeHash: string, now: Date): Promise<boolean>
  remaining (userId: string): Promise<number>
  removeAll (userId: string): Promise<void>
}

/** What a form or a browser script sent back for a method (fields, or a WebAuthn JSON response). */
export type FactorResponse = Record<string, unknown>

export interface FactorContext {
  user: Pick<UserRecord, 'id' | 'username'>
  now: Date
}

/** What the enrolment page shows: the method decides (a QR code and secret, recovery codes, WebAuthn options). */
export interface EnrolmentStart {
  /** The pending configuration, confirmed by confirmEnrolment; null when the method is active at once. */
  factorId: string | null
  display: Record<string, unknown>
  /** Kept in the one-time confirmation state until the enrolment is confirmed (a WebAuthn challenge). */
  state?: unknown
}

export interface Verified {
  factorId: string
  method: MethodId
}

export interface FactorMethod {
  readonly id: MethodId
  /** RFC 8176 values this method adds to the `amr` claim. */
  readonly amr: readonly string[]
  /** Counts as a second factor by itself; recovery codes only stand in for a lost one. */
  readonly primary: boolean
  /**
   * Starts an enrolment: a pending configuration, or (for recovery codes) a fresh set at
   * once. `challenge` is the one-time confirmation state's challenge (Confirmations.challengeOf).
   */
  enrol (ctx: FactorContext, input: { name: string, challenge?: string }): Promise<EnrolmentStart>
  /** Activates the pending configuration (or creates it) when the response proves the person holds it. */
  confirmEnrolment (ctx: FactorContext, factorId: string | null, response: FactorResponse, challenge?: string): Promise<boolean>
  /** What the browser needs before answering (WebAuthn request options for this challenge); null when nothing. */
  challenge (ctx: FactorContext | null, challenge: string): Promise<Record<string, unknown> | null>
  /** The configuration the response proves, or null. `ctx` is null for usernameless passkey sign-in. */
  verify (ctx: FactorContext | null, response: FactorResponse, challenge?: string): Promise<(Verified & { userId: string, userVerified?: boolean }) | null>
  /** Removes one configuration of this person. */
  disable (ctx: FactorContext, factorId: string): Promise<boolean>
}
