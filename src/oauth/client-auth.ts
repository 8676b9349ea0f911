// Client authentication at the token and device authorization endpoints
// (RFC 6749 §2.3, RFC 8628 §3.1): public clients by client_id, confidential ones by
// client_secret_basic or client_secret_post, never both in one request.
import { InvalidClientError, InvalidRequestError } from './errors.js'
import { safeEqual, sha256 } from './codes.js'
import type { ClientRecord, ClientStore } from './stores.js'

export interface BasicCredentials {
  clientId: string
  clientSecret: string
  /**
   * Both halves exactly as sent, when RFC 6749 §2.3.1 form-decoding changed them ("+",
   * "%"): devices written for flask-oauth2-devices never encode. Only set when asked for
   * (the paths those devices use); authenticateClient then tries them second.
   */
  verbatim?: { clientId: string, clientSecret: string }
}

export interface ClientCredentials {
  /** From `Authorization: Basic`, already decoded. */
  basic?: BasicCredentials
  bodyClientId?: string
  bodyClientSecret?: string
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before base64. The scheme is case-insensitive (RFC 7235 §2.1). */
export function parseBasicAuth (header: string | undefined, verbatim = false): BasicCredentials | undefined {
  if (header === undefined) return undefined
  const m = /^basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header)
  if (m === null) {
    if (/^basic\b/i.test(header)) throw new InvalidClientError('malformed Basic credentials', true)
    return undefined // another scheme is not client authentication
  }
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) throw new InvalidClientError('malformed Basic credentials', true)
  const sent = { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) }
  // RFC 7617 §2: no control characters in the user-id or password (a NUL would also
  // reach the database, which refuses it in text).
  if (CONTROL.test(decoded)) throw new InvalidClientError('malformed Basic credentials', true)
  let formDecoded: { clientId: string, clientSecret: string }
  try {
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
    formDecoded = { clientId: dec(sent.clientId), clientSecret: dec(sent.clientSecret) }
    if (CONTROL.test(formDecoded.clientId) || CONTROL.test(formDecoded.clientSecret)) throw new Error('control character')
  } catch {
    if (verbatim) return sent
    throw new InvalidClientError('malformed Basic credentials', true)
  }
  const differs = formDecoded.clientId !== sent.clientId || formDecoded.clientSecret !== sent.clientSecret
  return verbatim && differs ? { ...formDecoded, verbatim: sent } : formDecoded
}

/** Authenticates with the credentials as decoded, then, if the paths allow it, as sent (BasicCredentials.verbatim). */
export async function authenticateClient (creds: ClientCredentials, clients: ClientStore): Promise<ClientRecord> {
  const verbatim = creds.basic?.verbatim
  if (verbatim === undefined) return await authenticateOnce(creds, clients)
  try {
    return await authenticateOnce(creds, clients)
  } catch (err) {
    if (!(err instanceof InvalidClientError || err instanceof InvalidRequestError)) throw err
    return await authenticateOnce({ ...creds, basic: verbatim }, clients)
  }
}

async function authenticateOnce (creds: ClientCredentials, clients: ClientStore): Promise<ClientRecord> {
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
