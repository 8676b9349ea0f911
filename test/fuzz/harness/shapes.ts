// What an answer must look like, by the kind of endpoint that gave it: RFC 6749 §5.2 JSON
// for OAuth endpoints, RFC 6750 §3 for bearer-protected APIs, an HTML page for people's
// pages, and never a 5xx. Returns the problem in words, or null.
import type { RawResponse } from './raw-http.js'
import type { FuzzRequest } from './requests.js'
import type { FuzzRoute } from './routes.js'

const OAUTH_ERRORS = new Set([
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'invalid_target', 'unsupported_token_type', 'authorization_pending', 'slow_down', 'access_denied', 'expired_token',
  'temporarily_unavailable'
])
const BEARER_ERRORS = new Set(['invalid_request', 'invalid_token', 'insufficient_scope'])
/** RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only. */
const RFC6749_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/

function jsonBody (res: RawResponse): { error?: unknown, error_description?: unknown } | string {
  if (!/^application\/json\b/i.test(res.headers['content-type'] ?? '')) return `content-type ${res.headers['content-type'] ?? '(none)'}, not JSON`
  try {
    const body = JSON.parse(res.body.toString('utf8')) as unknown
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'JSON body is not an object'
    return body
  } catch {
    return 'body is not valid JSON'
  }
}

/** {error, error_description?}; with `codes`, error must be one of them and both use the RFC 6749 characters. */
function errorJson (res: RawResponse, isHead: boolean, codes?: Set<string>): string | null {
  if (isHead) return /^application\/json\b/i.test(res.headers['content-type'] ?? '') ? null : 'HEAD error without a JSON content-type'
  const body = jsonBody(res)
  if (typeof body === 'string') return body
  if (typeof body.error !== 'string') return 'no "error" string in the JSON body'
  if (body.error_description !== undefined && typeof body.error_description !== 'string') return 'error_description is not a string'
  if (codes !== undefined) {
    if (!codes.has(body.error)) return `"error": ${JSON.stringify(body.error)} is not a code this endpoint may send`
    if (!RFC6749_CHARS.test(body.error_description ?? '')) return `error_description has characters RFC 6749 §5.2 forbids: ${JSON.stringify(body.error_description)}`
  }
  return null
}

function htmlPage (res: RawResponse, isHead: boolean): string | null {
  if (!/^text\/html\b/i.test(res.headers['content-type'] ?? '')) return `content-type ${res.headers['content-type'] ?? '(none)'}, not an HTML page`
  if (isHead) return null
  const text = res.body.toString('utf8')
  if (!/<html[\s>]/i.test(text)) return 'not an HTML document'
  return null
}

function bearerChallenge (res: RawResponse, req: FuzzRequest, isHead: boolean): string | null {
  const challenge = res.headers['www-authenticate'] ?? ''
  if (!/^Bearer\b/.test(challenge)) return `${res.status} without a WWW-Authenticate: Bearer challenge (RFC 6750 §3)`
  const attr = /\berror="([^"]*)"/.exec(challenge)?.[1]
  if (!req.hasAuthorization) {
    if (attr !== undefined) return 'error attribute in the challenge although no credentials were sent (RFC 6750 §3.1)'
    if (res.status !== 401) return `status ${res.status} without credentials (RFC 6750 §3.1: 401)`
  } else if (attr === undefined || !BEARER_ERRORS.has(attr)) {
    return `challenge error ${String(attr)} is not an RFC 6750 §3.1 code`
  }
  const problem = errorJson(res, isHead)
  if (problem !== null || isHead) return problem
  const body = JSON.parse(res.body.toString('utf8')) as { error: string }
  if (attr !== undefined && body.error !== attr) return `body error ${body.error} differs from the challenge's ${attr}`
  return null
}

/** `matched`: the router has a route for this method and target (fastify's own findRoute said so). */
export function checkResponse (res: RawResponse, req: FuzzRequest, route: FuzzRoute, matched: boolean): string | null {
  const isHead = req.method === 'HEAD'
  if (res.status >= 500) return `${res.status} (server error)`
  const location = res.headers.location
  if (location !== undefined && !/^\/(?![/\\])/.test(location)) return `redirect to ${JSON.stringify(location)}, not a local path`
  if (res.status < 400) {
    if (route.errorFormat === 'page' && res.status === 200 && /^text\/html/.test(res.headers['content-type'] ?? '') && /\[object |native code\]/.test(res.body.toString('utf8'))) {
      return 'page shows a JavaScript object ("[object …]" or native code)'
    }
    return null
  }
  // No request id: refused before routing (the HTTP parser, a bad URL): nothing tells
  // whose endpoint it was, so the answer is the OAuth shape devices understand.
  if (res.headers['x-request-id'] === undefined) return errorJson(res, isHead, OAUTH_ERRORS)
  // No route for this method and path: the not-found handler's JSON (a body it could not
  // parse is refused as JSON too).
  if (!matched) return errorJson(res, isHead)
  if (route.bearer && (res.status === 401 || res.status === 403)) return bearerChallenge(res, req, isHead)
  if (route.errorFormat === 'page') return htmlPage(res, isHead)
  if (route.errorFormat === 'oauth') {
    if (!/\bno-store\b/.test(res.headers['cache-control'] ?? '')) return 'OAuth error without Cache-Control: no-store'
    return errorJson(res, isHead, OAUTH_ERRORS)
  }
  return errorJson(res, isHead)
}
