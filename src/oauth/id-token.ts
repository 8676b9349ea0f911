// OpenID Connect ID tokens (OIDC Core §2): audience is the client, not an API.
import { SignJWT } from 'jose'
import type { KeyManager } from './signing-keys.js'

export interface IdTokenInput {
  subject: string
  clientId: string
  authTime: Date
  claims: Record<string, string>
  /** OIDC Core §2 amr (RFC 8176 values) and acr of the approval, when recorded. */
  authentication?: { amr: string[], acr: string } | null
  now: number
  ttlSeconds: number
}

export class IdTokenIssuer {
  constructor (private readonly keys: KeyManager, private readonly issuer: string) {}

  async issue (input: IdTokenInput): Promise<string> {
    const { kid, alg, key } = this.keys.signingKey()
    const iat = Math.floor(input.now / 1000)
    // typ JWT, unlike access tokens' at+jwt: resource servers that pin typ refuse ID tokens.
    const auth = input.authentication == null ? {} : { amr: input.authentication.amr, acr: input.authentication.acr }
    return await new SignJWT({ ...input.claims, ...auth, auth_time: Math.floor(input.authTime.getTime() / 1000) })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(input.subject)
      .setAudience(input.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + input.ttlSeconds)
      .sign(key)
  }
}
