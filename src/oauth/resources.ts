// RFC 8707 resource indicators: which API a token is for (its aud) and which scopes
// that API accepts.
import { InvalidScopeError, InvalidTargetError } from './errors.js'
import type { ResourceServerStore } from './stores.js'

/** Scopes about the person and the session itself, valid for any audience. */
export const IDENTITY_SCOPES = ['openid', 'profile', 'email', 'offline_access']

export interface Audience { audience: string, resource: string | null }

export async function resolveAudience (
  resource: string | undefined, scopes: string[], defaultAudience: string, store: ResourceServerStore
): Promise<Audience> {
  if (resource === undefined) return { audience: defaultAudience, resource: null }
  // RFC 8707 §2: an absolute URI without a fragment.
  let valid = false
  try { valid = new URL(resource).hash === '' && !resource.includes('#') } catch { valid = false }
  if (!valid) throw new InvalidTargetError('resource must be an absolute URI without a fragment')
  if (resource === defaultAudience) return { audience: defaultAudience, resource: null }
  const server = await store.findResourceServer(resource)
  if (server === null || !server.enabled) throw new InvalidTargetError('unknown resource')
  const refused = scopes.filter(s => !IDENTITY_SCOPES.includes(s) && !server.scopes.includes(s))
  if (refused.length > 0) throw new InvalidScopeError(`scope not accepted by ${server.identifier}: ${refused.join(' ')}`)
  return { audience: server.identifier, resource: server.identifier }
}
