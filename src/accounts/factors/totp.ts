// TOTP (RFC 6238) with otpauth: SHA-1, 6 digits, 30 s, the parameters every
// authenticator app supports. The seed is sealed at rest (it must be read back to
// check codes); enrolment activates only after one valid code.
import { randomUUID } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'
import { open, seal } from '../../oauth/secret-box.js'
import type { FactorContext, FactorMethod, FactorRecord, FactorResponse, FactorStore, EnrolmentStart } from './types.js'

export const TOTP_PERIOD_SECONDS = 30
/** RFC 6238 §5.2: accept one step of clock drift either way, no more. */
export const TOTP_WINDOW = 1

export interface TotpSettings {
  /** Shown in the authenticator app above the account name (the ISSUER's host). */
  issuerLabel: string
}

/** What a person typed, or null when it cannot be a TOTP code (spaces are allowed: "123 456"). */
export function totpCode (response: FactorResponse): string | null {
  const raw = typeof response.code === 'string' ? response.code.replace(/\s+/g, '') : ''
  return /^\d{6}$/.test(raw) ? raw : null
}

export class TotpMethod implements FactorMethod {
  readonly id = 'totp' as const
  readonly amr = ['otp'] as const
  readonly primary = true

  constructor (private readonly store: FactorStore, private readonly key: Buffer, private readonly settings: TotpSettings) {}

  private totp (factor: Pick<FactorRecord, 'secret'>, username: string): TOTP {
    return new TOTP({
      issuer: this.settings.issuerLabel,
      label: username,
      algorithm: 'SHA1',
      digits: 6,
      period: TOTP_PERIOD_SECONDS,
      secret: Secret.fromBase32(open(this.key, factor.secret ?? ''))
    })
  }

  async enrol (ctx: FactorContext, input: { name: string }): Promise<EnrolmentStart> {
    // One enrolment at a time: an abandoned QR code never becomes a factor.
    await this.store.removePending(ctx.user.id, 'totp')
    const secret = new Secret({ size: 20 }) // RFC 4226 §4: at least 128 bits; 160 recommended
    const factor = await this.store.create({
      id: randomUUID(), userId: ctx.user.id, method: 'totp', name: input.name, status: 'pending', createdAt: ctx.now, secret: seal(this.key, secret.base32)
    })
    return { factorId: factor.id, display: this.shown(factor, ctx.user.username) }
  }

  /** What the enrolment page shows for a pending configuration: the otpauth URI (for the QR code) and the secret as text. */
  async provisioning (factorId: string, user: FactorContext['user']): Promise<{ secret: string, uri: string } | null> {
    const factor = await this.store.findById(factorId)
    if (factor === null || factor.userId !== user.id || factor.method !== 'totp' || factor.status !== 'pending') return null
    return this.shown(factor, user.username)
  }

  private shown (factor: FactorRecord, username: string): { secret: string, uri: string } {
    const totp = this.totp(factor, username)
    return { secret: totp.secret.base32.replace(/(.{4})/g, '$1 ').trim(), uri: totp.toString() }
  }

  async confirmEnrolment (ctx: FactorContext, factorId: string | null, response: FactorResponse): Promise<boolean> {
    const factor = factorId === null ? null : await this.store.findById(factorId)
    if (factor === null || factor.userId !== ctx.user.id || factor.method !== 'totp' || factor.status !== 'pending') return false
    const step = this.matchingStep(factor, ctx, response)
    if (step === null) return false
    const name = typeof response.name === 'string' && response.name.trim() !== '' ? response.name.trim() : factor.name
    // The code that activated it is used: it cannot sign in a second time.
    return await this.store.activate(factor.id, ctx.user.id, name, ctx.now, step)
  }

  async challenge (): Promise<null> {
    return null
  }

  async verify (ctx: FactorContext | null, response: FactorResponse): Promise<{ factorId: string, method: 'totp', userId: string } | null> {
    if (ctx === null || totpCode(response) === null) return null
    const factors = (await this.store.listForUser(ctx.user.id)).filter(f => f.method === 'totp' && f.status === 'active')
    for (const factor of factors) {
      const step = this.matchingStep(factor, ctx, response)
      // RFC 6238 §5.2: "MUST NOT accept the second attempt of the same OTP": the conditional
      // update accepts only a step later than the last one used, so a replay, an older code
      // of the window and the loser of two racing submissions are all refused.
      if (step !== null && await this.store.useStep(factor.id, step, ctx.now)) return { factorId: factor.id, method: 'totp', userId: ctx.user.id }
    }
    return null
  }

  async disable (ctx: FactorContext, factorId: string): Promise<boolean> {
    return await this.store.remove(factorId, ctx.user.id)
  }

  /** The time step the code belongs to (±1 step), or null. */
  private matchingStep (factor: FactorRecord, ctx: FactorContext, response: FactorResponse): number | null {
    const token = totpCode(response)
    if (token === null) return null
    const totp = this.totp(factor, ctx.user.username)
    const timestamp = ctx.now.getTime()
    const delta = totp.validate({ token, timestamp, window: TOTP_WINDOW })
    if (delta === null) return null
    return totp.counter({ timestamp }) + delta
  }
}
