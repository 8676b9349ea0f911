// Client authentication at the token and device authorization endpoints
// (RFC 6749 §2.3, RFC 8628 §3.1): public clients by client_id, confidential ones by
// client_secret_basic or client_secret_post, never both in one request.
import { InvalidClientError, InvalidRequestError } from './errors.js'
import { safeEqual, sha256 } from './codes.js'
import type { ClientRecord, ClientStore } from './stores.js'

export interface ClientCredentials {
  /** From `Authorization: Basic`, already decoded. */
  basic?: { clientId: string, clientSecret: string }
  bodyClientId?: string
  bodyClientSecret?: string
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before base64. */
export function parseBasicAuth (header: string | undefined): ClientCredentials['basic'] | undefined {
  if (header === undefined) return undefined
  const m = /^basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header)
  if (m === null) {
    if (/^basic\b/i.test(header)) throw new InvalidClientError('malformed Basic credentials', true)
    return undefined // another scheme is not client authentication
  }
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) throw new InvalidClientError('malformed Basic credentials', true)
  try {
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
    return { clientId: dec(decoded.slice(0, colon)), clientSecret: dec(decoded.slice(colon + 1)) }
  } catch {
    throw new InvalidClientError('malformed Basic credentials', true)
  }
}

export async function authenticateClient (creds: ClientCredentials, clients: ClientStore): Promise<ClientRecord> {
  const { basic, bodyClientId, bodyClientSecret } = creds
  const usedBasic = basic !== undefined
  if (usedBasic && bodyClientSecret !== undefined) {
    throw new InvalidRequestError('use one client authentication method, not both Basic and client_secret')
  }
  if (usedBasic && bodyClientId !== undefined && bodyClientId !== basic.clientId) {
    throw new InvalidRequestError('client_id does not match the Basic credentials')
  }
  const clientId = basic?.clientId ?? bodyClientId
  if (clientId === undefined) throw new InvalidClientError('client authentication is required (client_id)', usedBasic)
  const secret = basic?.clientSecret ?? bodyClientSecret

  const client = await clients.findClient(clientId)
  if (client === null || !client.enabled) throw new InvalidClientError('unknown or disabled client', usedBasic)
  if (client.type === 'public') {
    if (secret !== undefined && secret !== '') throw new InvalidClientError('public clients do not authenticate with a secret', usedBasic)
    return client
  }
  if (secret === undefined || client.secretHash === null || !safeEqual(sha256(secret), client.secretHash)) {
    throw new InvalidClientError('client authentication failed', usedBasic)
  }
  return client
}
