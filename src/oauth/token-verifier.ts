// Verifies our RFC 9068 access tokens locally: pinned algorithms, typ at+jwt, issuer,
// audience and expiry with a small leeway; no database read.
import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { Clock } from './clock.js'
import { InvalidTokenError } from './errors.js'
import type { KeyManager } from './signing-keys.js'

/** Never `none`, never HMAC (a public key must not become a shared secret). */
export const ACCESS_TOKEN_ALGORITHMS = ['RS256', 'ES256', 'EdDSA']

export interface AccessTokenClaims {
  subject: string
  clientId: string
  scopes: string[]
  audience: string[]
  jti: string
  expiresAt: number
  issuedAt: number
  claims: JWTPayload
}

export function looksLikeJwt (token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)
}

export class AccessTokenVerifier {
  constructor (
    private readonly keys: KeyManager,
    private readonly issuer: string,
    private readonly clockToleranceSeconds: number,
    private readonly clock: Clock
  ) {}

  /** `audience` undefined: any audience (introspection and revocation of our own tokens). */
  async verify (token: string, audience?: string): Promise<AccessTokenClaims> {
    if (!looksLikeJwt(token)) throw new InvalidTokenError('malformed token')
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, async (header: JWTHeaderParameters) => {
        const key = header.kid === undefined ? undefined : this.keys.verificationKey(header.kid)
        if (key === undefined) throw new errors.JWKSNoMatchingKey()
        return key
      }, {
        issuer: this.issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        clockTolerance: this.clockToleranceSeconds,
        currentDate: new Date(this.clock()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id']
      }))
    } catch (err) {
      throw new InvalidTokenError(err instanceof errors.JWTExpired ? 'the access token has expired' : 'the access token is not valid here')
    }
    const scope = typeof payload.scope === 'string' ? payload.scope : ''
    return {
      subject: String(payload.sub),
      clientId: String(payload.client_id),
      scopes: scope === '' ? [] : scope.split(' '),
      audience: Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)],
      jti: String(payload.jti),
      expiresAt: Number(payload.exp),
      issuedAt: Number(payload.iat),
      claims: payload
    }
  }
}
