// Revocation for resource servers. A JWT access token verified locally stays good until
// it expires (RFC 9068 §1: that is the point of a self-contained token). An API that must
// stop a disconnected device sooner asks codepair's introspection endpoint (RFC 7662)
// whether the token is still active, and keeps each answer for a short while.
import { RevocationUnavailableError } from './errors.js'
import type { VerifiedToken } from './verifier.js'

/** Decides whether a token that verified (signature, issuer, audience, expiry) is still active. */
export interface RevocationCheck {
  /** false: revoked; throws RevocationUnavailableError when it cannot tell (fail closed). */
  isActive (token: string, verified: VerifiedToken): Promise<boolean>
}

export interface IntrospectionCheckOptions {
  /** codepair's introspection endpoint, e.g. https://auth.example.com/oauth/introspect */
  endpoint: string | URL
  /** A confidential client of codepair (RFC 7662 §2.1: the caller authenticates). */
  clientId: string
  clientSecret: string
  /**
   * How long an answer is reused for the same token (default 1000 ms, at most 60000): the
   * longest a revoked token is still accepted, and at most one introspection request per
   * token per period.
   */
  cacheMs?: number
  /** Answers kept at most (default 10,000; the oldest goes first). */
  maxEntries?: number
  /** Per introspection request (default 2000 ms); a timeout fails closed. */
  timeoutMs?: number
  now?: () => number
  fetch?: typeof fetch
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they go into Basic. */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

export function createIntrospectionCheck (opts: IntrospectionCheckOptions): RevocationCheck {
  const cacheMs = opts.cacheMs ?? 1000
  if (!Number.isFinite(cacheMs) || cacheMs < 0 || cacheMs > 60000) throw new RangeError('cacheMs must be between 0 and 60000')
  const maxEntries = opts.maxEntries ?? 10000
  const now = opts.now ?? Date.now
  const doFetch = opts.fetch ?? fetch
  const authorization = basic(opts.clientId, opts.clientSecret)
  const answers = new Map<string, { at: number, active: boolean }>()
  // Concurrent requests with one token share one introspection request.
  const inflight = new Map<string, Promise<boolean>>()

  async function introspect (token: string): Promise<boolean> {
    let body: unknown
    try {
      const res = await doFetch(opts.endpoint, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 2000)
      })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      body = await res.json()
    } catch (err) {
      throw new RevocationUnavailableError(`cannot introspect at ${String(opts.endpoint)}: ${(err as Error).message}`, { cause: err })
    }
    if (typeof body !== 'object' || body === null || typeof (body as { active?: unknown }).active !== 'boolean') {
      throw new RevocationUnavailableError(`${String(opts.endpoint)} did not answer an RFC 7662 introspection response`)
    }
    return (body as { active: boolean }).active
  }

  return {
    async isActive (token, verified) {
      // The token verified, so its jti is codepair's own and names it.
      const key = verified.jti
      const t = now()
      const hit = answers.get(key)
      if (hit !== undefined && t - hit.at < cacheMs) return hit.active
      let pending = inflight.get(key)
      if (pending === undefined) {
        pending = introspect(token).then(active => {
          answers.delete(key)
          if (answers.size >= maxEntries) answers.delete(answers.keys().next().value as string)
          if (cacheMs > 0) answers.set(key, { at: t, active })
          return active
        }).finally(() => inflight.delete(key))
        inflight.set(key, pending)
      }
      return await pending
    }
  }
}
