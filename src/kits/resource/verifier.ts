// A framework-neutral verifier of codepair access tokens (RFC 9068): pinned algorithms,
// typ at+jwt, issuer, audience, expiry with a small leeway, required scopes.
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { InsufficientScopeError, InvalidTokenError, KeysUnavailableError } from './errors.js'
import type { RevocationCheck } from './revocation.js'

/** Never `none`, never HMAC (a public key must not become a shared secret). */
export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA']

export interface VerifierOptions {
  issuer: string
  /** The API's identifier; tokens for other audiences are refused. Omit only to accept any audience. */
  audience?: string
  /** Resolves the signing key: a cached remote JWKS (remote-jwks.ts) or a local key set. */
  keys: JWTVerifyGetKey
  algorithms?: string[]
  clockToleranceSeconds?: number
  now?: () => number
  /**
   * Remember this many verified tokens (default 1000; 0 = off). A device sends the same
   * token on every call for up to an hour, and a signature check costs far more than a
   * lookup; expiry and scopes are still checked on every use.
   */
  cacheSize?: number
  /**
   * Ask codepair whether a verified token was revoked (createIntrospectionCheck): off by
   * default, when a token is good until it expires. A revoked token is refused with
   * InvalidTokenError before its scopes are looked at.
   */
  revocation?: RevocationCheck
}

export interface VerifiedToken {
  subject: string
  clientId: string
  scopes: string[]
  audience: string[]
  jti: string
  expiresAt: number
  issuedAt: number
  /** The `permissions` claim codepair's permission provider for this API put in the token, if any. */
  permissions?: Record<string, unknown>
  /** The device grant behind the token (`grant_id`); absent in tokens codepair issued before it added the claim. */
  grantId?: string
  claims: JWTPayload
}

export interface Verifier {
  /** Resolves with the verified token or throws InvalidTokenError / InsufficientScopeError / KeysUnavailableError. */
  verify (token: string, options?: { requiredScopes?: string[], audience?: string }): Promise<VerifiedToken>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function looksLikeJwt (token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)
}

/** RFC 6750 §3.1: a token without every required scope gets insufficient_scope (403). */
export function checkScopes (v: VerifiedToken, required: string[]): VerifiedToken {
  if (required.some(s => !v.scopes.includes(s))) {
    throw new InsufficientScopeError(`this requires the scope ${required.join(' ')}`, required)
  }
  return v
}

export function createVerifier (opts: VerifierOptions): Verifier {
  const local = createLocalVerifier(opts)
  return opts.revocation === undefined ? local : withRevocationCheck(local, opts.revocation)
}

/**
 * `verifier`, then `check` on what it verified (a revoked token → InvalidTokenError), then
 * the scopes: a revoked token is invalid_token (401) whatever scopes it lacks.
 */
export function withRevocationCheck (verifier: Verifier, check: RevocationCheck): Verifier {
  return {
    async verify (token, options = {}) {
      const v = await verifier.verify(token, options.audience === undefined ? {} : { audience: options.audience })
      if (!await check.isActive(token, v)) throw new InvalidTokenError('the access token has been revoked')
      return checkScopes(v, options.requiredScopes ?? [])
    }
  }
}

function createLocalVerifier (opts: VerifierOptions): Verifier {
  const algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS
  const tolerance = opts.clockToleranceSeconds ?? 5
  const cacheSize = opts.cacheSize ?? 1000
  const cache = new Map<string, VerifiedToken>()
  const now = opts.now ?? Date.now

  return {
    async verify (token, options = {}) {
      const audience = options.audience ?? opts.audience
      const key = `${audience ?? ''} ${token}`
      const cached = cache.get(key)
      if (cached !== undefined) {
        if (now() / 1000 < cached.expiresAt + tolerance) return checkScopes(cached, options.requiredScopes ?? [])
        cache.delete(key)
      }
      const verified = await verifyUncached(token, audience)
      if (cacheSize > 0) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string) // oldest first
        cache.set(key, verified)
      }
      return checkScopes(verified, options.requiredScopes ?? [])
    }
  }

  async function verifyUncached (token: string, audience: string | undefined): Promise<VerifiedToken> {
    if (!looksLikeJwt(token)) throw new InvalidTokenError('malformed token')
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, opts.keys, {
        issuer: opts.issuer,
        audience,
        typ: 'at+jwt', // an ID token (typ JWT) is not an access token
        algorithms,
        clockTolerance: tolerance,
        currentDate: new Date(now()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id']
      }))
    } catch (err) {
      if (err instanceof KeysUnavailableError) throw err
      throw new InvalidTokenError(err instanceof errors.JWTExpired ? 'the access token has expired' : 'the access token is not valid here')
    }
    const scope = typeof payload.scope === 'string' ? payload.scope : ''
    const scopes = scope === '' ? [] : scope.split(' ')
    return {
      subject: String(payload.sub),
      clientId: String(payload.client_id),
      scopes,
      audience: Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)],
      jti: String(payload.jti),
      expiresAt: Number(payload.exp),
      issuedAt: Number(payload.iat),
      ...(isObject(payload.permissions) ? { permissions: payload.permissions } : {}),
      ...(typeof payload.grant_id === 'string' ? { grantId: payload.grant_id } : {}),
      claims: payload
    }
  }
}
