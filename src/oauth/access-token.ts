// RFC 9068 JWT access tokens.
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { KeyManager } from './signing-keys.js'

export interface AccessTokenInput {
  subject: string
  clientId: string
  scope: string
  audience: string
  now: number
  ttlSeconds: number
  /** From the audience's permission provider: the `permissions` claim. */
  permissions?: Record<string, unknown>
  /**
   * The device grant the token came from (the `grant_id` claim): what introspection and
   * requireScope look up to refuse the token once that grant is revoked.
   */
  grantId: string
}

export interface IssuedAccessToken { token: string, jti: string, expiresIn: number }

export class AccessTokenIssuer {
  constructor (private readonly keys: KeyManager, private readonly issuer: string) {}

  async issue (input: AccessTokenInput): Promise<IssuedAccessToken> {
    const { kid, alg, key } = this.keys.signingKey()
    const iat = Math.floor(input.now / 1000)
    const jti = randomUUID()
    // RFC 9068 §2.2 allows claims beyond the registered ones; grant_id ties the token to its grant.
    const claims = { client_id: input.clientId, scope: input.scope, grant_id: input.grantId, ...(input.permissions === undefined ? {} : { permissions: input.permissions }) }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' }) // RFC 9068 §2.1
      .setIssuer(this.issuer)
      .setSubject(input.subject)
      .setAudience(input.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + input.ttlSeconds)
      .setJti(jti)
      .sign(key)
    return { token, jti, expiresIn: input.ttlSeconds }
  }
}
