// Recovery codes: ten single-use codes for a person who lost their authenticator.
// Shown once (at enrolment and on regeneration), stored as an HMAC under a key derived
// from SECRET_KEY: 50 random bits each would not survive offline enumeration of a plain
// hash, and an HMAC can still be looked up by index (unlike argon2).
import { createHmac, randomInt, randomUUID } from 'node:crypto'
import type { EnrolmentStart, FactorContext, FactorMethod, FactorResponse, FactorStore, RecoveryCodeStore } from './types.js'

export const RECOVERY_CODE_COUNT = 10
/** 32 letters and digits without the look-alikes 0/o and 1/l: 5 bits per character. */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'
const LENGTH = 10

export function generateRecoveryCode (): string {
  let code = ''
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)]
  return `${code.slice(0, 5)}-${code.slice(5)}`
}

/** Case, spaces and dashes do not matter; null when it cannot be a recovery code. */
export function normalizeRecoveryCode (raw: unknown): string | null {
  if (typeof raw !== 'string') return null
  const code = raw.toLowerCase().replace(/[\s-]+/g, '')
  return code.length === LENGTH && [...code].every(c => ALPHABET.includes(c)) ? code : null
}

export class RecoveryCodesMethod implements FactorMethod {
  readonly id = 'recovery_codes' as const
  readonly amr = ['otp'] as const
  readonly primary = false

  constructor (private readonly factors: FactorStore, private readonly codes: RecoveryCodeStore, private readonly key: Buffer) {}

  hash (normalized: string): string {
    return createHmac('sha256', this.key).update(normalized).digest('base64url')
  }

  /** A fresh set replaces the old one: old codes stop working at once. */
  async enrol (ctx: FactorContext): Promise<EnrolmentStart> {
    const existing = (await this.factors.listForUser(ctx.user.id)).find(f => f.method === 'recovery_codes')
    const factor = existing ?? await this.factors.create({
      id: randomUUID(), userId: ctx.user.id, method: 'recovery_codes', name: 'Recovery codes', status: 'active', createdAt: ctx.now
    })
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode)
    await this.codes.replace(ctx.user.id, codes.map(c => this.hash(normalizeRecoveryCode(c) ?? '')), ctx.now)
    return { factorId: factor.id, display: { codes } }
  }

  async confirmEnrolment (): Promise<boolean> {
    return true // active at once: the codes are shown, nothing to prove
  }

  async challenge (): Promise<null> {
    return null
  }

  async verify (ctx: FactorContext | null, response: FactorResponse): Promise<{ factorId: string, method: 'recovery_codes', userId: string } | null> {
    const code = normalizeRecoveryCode(response.code)
    if (ctx === null || code === null) return null
    // The conditional update is the single-use guarantee: of two racing uses one wins.
    if (!await this.codes.use(ctx.user.id, this.hash(code), ctx.now)) return null
    const factor = (await this.factors.listForUser(ctx.user.id)).find(f => f.method === 'recovery_codes')
    if (factor === undefined) return null
    await this.factors.touch(factor.id, ctx.now)
    return { factorId: factor.id, method: 'recovery_codes', userId: ctx.user.id }
  }

  async disable (ctx: FactorContext, factorId: string): Promise<boolean> {
    await this.codes.removeAll(ctx.user.id)
    return await this.factors.remove(factorId, ctx.user.id)
  }

  async remaining (userId: string): Promise<number> {
    return await this.codes.remaining(userId)
  }
}
