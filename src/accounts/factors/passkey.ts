// WebAuthn passkeys with @simplewebauthn/server: registration (discoverable credentials,
// so a passkey can also sign in without a username), use as a second factor, and
// usernameless sign-in. The relying party id and origin come from ISSUER (WebAuthn §5.1.3,
// §7.2 steps 9 and 14). The challenge is the one-time confirmation state's (confirmations.ts).
import { randomUUID } from 'node:crypto'
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type AuthenticatorTransport, type RegistrationResponseJSON
} from '@simplewebauthn/server'
import type { EnrolmentStart, FactorContext, FactorMethod, FactorRecord, FactorResponse, FactorStore } from './types.js'

export interface PasskeySettings {
  /** ISSUER's host name (an IP address is no valid RP id: use a name such as localhost). */
  rpId: string
  /** ISSUER's origin. */
  origin: string
  rpName: string
}

/** RFC 8176: proof of possession of a (hardware- or platform-held) key, with user verification. */
export const PASSKEY_AMR = ['hwk', 'user'] as const

/** The browser's JSON (the form's hidden `response` field), or null. */
function parsed<T> (response: FactorResponse): T | null {
  if (typeof response.response !== 'string' || response.response.length > 20000) return null
  try {
    const value = JSON.parse(response.response) as unknown
    return value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string' ? value as T : null
  } catch {
    return null
  }
}

/** A challenge string as the WebAuthn options carry it (base64url of its UTF-8 bytes). */
const expected = (challenge: string) => Buffer.from(challenge, 'utf8').toString('base64url')

function transportsOf (f: FactorRecord): AuthenticatorTransport[] | undefined {
  return f.transports === null || f.transports === '' ? undefined : f.transports.split(' ') as AuthenticatorTransport[]
}

export class PasskeyMethod implements FactorMethod {
  readonly id = 'passkey' as const
  readonly amr = PASSKEY_AMR
  readonly primary = true

  constructor (private readonly store: FactorStore, private readonly settings: PasskeySettings) {}

  private async passkeys (userId: string): Promise<FactorRecord[]> {
    return (await this.store.listForUser(userId)).filter(f => f.method === 'passkey' && f.status === 'active' && f.credentialId !== null)
  }

  async enrol (ctx: FactorContext, input: { name: string, challenge?: string }): Promise<EnrolmentStart> {
    const existing = await this.passkeys(ctx.user.id)
    const options = await generateRegistrationOptions({
      rpName: this.settings.rpName,
      rpID: this.settings.rpId,
      userName: ctx.user.username,
      // The user handle a discoverable credential returns at usernameless sign-in.
      userID: Buffer.from(ctx.user.id, 'utf8'),
      challenge: input.challenge,
      attestationType: 'none',
      excludeCredentials: existing.map(f => ({ id: f.credentialId ?? '', transports: transportsOf(f) })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' }
    })
    return { factorId: null, display: { options } }
  }

  async confirmEnrolment (ctx: FactorContext, _factorId: string | null, response: FactorResponse, challenge?: string): Promise<boolean> {
    const body = parsed<RegistrationResponseJSON>(response)
    if (body === null || challenge === undefined) return false
    let info
    try {
      const result = await verifyRegistrationResponse({
        response: body, expectedChallenge: expected(challenge), expectedOrigin: this.settings.origin, expectedRPID: this.settings.rpId, requireUserVerification: true
      })
      if (!result.verified) return false
      info = result.registrationInfo
    } catch {
      return false // malformed or forged: no details to the page
    }
    const name = typeof response.name === 'string' && response.name.trim() !== '' ? response.name.trim().slice(0, 60) : 'Passkey'
    await this.store.create({
      id: randomUUID(),
      userId: ctx.user.id,
      method: 'passkey',
      name,
      status: 'active',
      createdAt: ctx.now,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: (info.credential.transports ?? []).join(' ')
    })
    return true
  }

  /** Request options: the person's credentials when known, any discoverable one when not (usernameless). */
  async challenge (ctx: FactorContext | null, challenge: string): Promise<Record<string, unknown> | null> {
    const mine = ctx === null ? [] : await this.passkeys(ctx.user.id)
    if (ctx !== null && mine.length === 0) return null
    const options = await generateAuthenticationOptions({
      rpID: this.settings.rpId,
      challenge,
      allowCredentials: mine.map(f => ({ id: f.credentialId ?? '', transports: transportsOf(f) })),
      userVerification: ctx === null ? 'required' : 'preferred'
    })
    return { options }
  }

  async verify (ctx: FactorContext | null, response: FactorResponse, challenge?: string): Promise<{ factorId: string, method: 'passkey', userId: string, userVerified: boolean } | null> {
    const body = parsed<AuthenticationResponseJSON>(response)
    if (body === null || challenge === undefined) return null
    const factor = await this.store.findByCredentialId(body.id)
    if (factor === null || factor.status !== 'active' || factor.publicKey === null) return null
    if (ctx !== null && factor.userId !== ctx.user.id) return null
    // Usernameless: the credential's user handle must name the account it was registered for.
    if (ctx === null && (typeof body.response.userHandle !== 'string' || Buffer.from(body.response.userHandle, 'base64url').toString('utf8') !== factor.userId)) return null
    let info
    try {
      const result = await verifyAuthenticationResponse({
        response: body,
        expectedChallenge: expected(challenge),
        expectedOrigin: this.settings.origin,
        expectedRPID: this.settings.rpId,
        credential: { id: factor.credentialId ?? '', publicKey: Buffer.from(factor.publicKey, 'base64url'), counter: factor.counter, transports: transportsOf(factor) },
        // Signing in without a password needs user verification; as a second factor presence is enough.
        requireUserVerification: ctx === null
      })
      if (!result.verified) return null
      info = result.authenticationInfo
    } catch {
      return null // includes a signature counter that went backwards (a cloned authenticator, WebAuthn §6.1.1)
    }
    // The counter moves from what was read to what was signed, or the use is refused: of two
    // racing uses of one assertion only one passes (authenticators that keep no counter send 0).
    if (!await this.store.useCounter(factor.id, factor.counter, info.newCounter, ctx?.now ?? new Date())) return null
    return { factorId: factor.id, method: 'passkey', userId: factor.userId, userVerified: info.userVerified }
  }

  async disable (ctx: FactorContext, factorId: string): Promise<boolean> {
    return await this.store.remove(factorId, ctx.user.id)
  }
}
