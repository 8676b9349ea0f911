// A remote JWK Set cache for resource servers. jose's createRemoteJWKSet throws once its
// cache is stale and the issuer is unreachable; a resource server should rather keep
// verifying with the keys it has (they are still the issuer's keys) and only fail
// closed for a key id it has never seen and cannot fetch.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import { KeysUnavailableError } from './errors.js'

export interface RemoteJwksOptions {
  /** Minimum time between refetches triggered by unknown key ids (default 30 s). */
  cooldownMs?: number
  /** After this age the set is refreshed in the background (default 5 min). */
  maxAgeMs?: number
  timeoutMs?: number
  now?: () => number
  fetch?: typeof fetch
}

export interface RemoteJwks {
  getKey: JWTVerifyGetKey
  /** Fetches now; rejects with KeysUnavailableError. */
  refresh (): Promise<void>
  readonly fetchedAt: number | undefined
}

export function createCachedRemoteJwks (jwksUri: string | URL, opts: RemoteJwksOptions = {}): RemoteJwks {
  const cooldown = opts.cooldownMs ?? 30000
  const maxAge = opts.maxAgeMs ?? 300000
  const now = opts.now ?? Date.now
  const doFetch = opts.fetch ?? fetch
  let local: JWTVerifyGetKey | undefined
  let fetchedAt: number | undefined
  let lastAttempt = -Infinity
  let inflight: Promise<void> | undefined

  async function load (): Promise<void> {
    lastAttempt = now()
    let jwks: JSONWebKeySet
    try {
      const res = await doFetch(jwksUri, { headers: { accept: 'application/jwk-set+json, application/json' }, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      jwks = await res.json() as JSONWebKeySet
      if (!Array.isArray(jwks?.keys)) throw new Error('not a JWK Set')
    } catch (err) {
      throw new KeysUnavailableError(`cannot fetch ${String(jwksUri)}: ${(err as Error).message}`, { cause: err })
    }
    local = createLocalJWKSet(jwks)
    fetchedAt = now()
  }

  function refresh (): Promise<void> {
    inflight ??= load().finally(() => { inflight = undefined })
    return inflight
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (local === undefined) await refresh() // first use: no keys at all → fail closed
    if (fetchedAt !== undefined && now() - fetchedAt > maxAge && now() - lastAttempt > cooldown) {
      refresh().catch(() => {}) // stale: refresh in the background, keep verifying meanwhile
    }
    try {
      return await (local as JWTVerifyGetKey)(header, token)
    } catch (err) {
      // An unknown kid may be a freshly rotated key: refetch, at most once per cooldown
      // (or wait for the fetch already under way).
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err
      if (inflight !== undefined) await inflight
      else if (now() - lastAttempt < cooldown) throw err
      else await refresh()
      return await (local as JWTVerifyGetKey)(header, token)
    }
  }

  return { getKey, refresh, get fetchedAt () { return fetchedAt } }
}
