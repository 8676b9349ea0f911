// Hostile requests, generated with fast-check: every body type, duplicated and oversized
// parameters, bad percent-encodings and UTF-8, odd methods, headers and cookies, forged
// JWTs. Real values from a live flow (client ids, codes, tokens, a signed-in session and
// its CSRF token) are mixed in, so requests get past the first check and reach the code
// behind it.
import fc from 'fast-check'
import type { FuzzRoute } from './routes.js'

export interface FuzzContext {
  port: number
  bodyLimit: number
  /** Values a real client or browser would send: ids, secrets, codes, tokens, grant types. */
  realValues: string[]
  /** Authorization header values: real Basic and Bearer credentials, forged JWTs, garbage. */
  authorizations: string[]
  /** Cookie header values: a real signed-in session, tampered copies, garbage. */
  cookies: string[]
  /** CSRF tokens that match the real sessions. */
  csrfTokens: string[]
  /** Values for path parameters, by parameter name. */
  pathParams: Record<string, string[]>
  /** Well-formed requests by route url (a form and the cookie it needs), mutated a little to reach deep code. */
  validForms: Record<string, Array<{ params: Array<[string, string]>, cookie?: string }>>
  /** Cookie values not to send to a route (the signed-in session to /logout, which would end it for the run). */
  keepAway: Record<string, string[]>
}

export interface FuzzRequest {
  /** The route (url pattern) this request was generated for: what it is counted against. */
  route: string
  method: string
  target: string
  headers: Array<[string, string]>
  body: Buffer | null
  /** 'raw': framing the parser must refuse or that ends the connection; sent on its own connection. */
  framing: 'normal' | 'raw'
  hasAuthorization: boolean
}

const NASTY = [
  '', ' ', '\u0000', '\t', '\r\n', '%', '%zz', '%C3%28', '%ED%A0%80', '%FF%FE', '%00', '%2525', '+', '&', '=', ';', ',',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '[]', '{}', 'null', 'undefined', 'true',
  'NaN', '-1', '0', '1e309', '9'.repeat(40), '0x10', '../../etc/passwd', '..%2f..%2f', '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>', "' OR 1=1 --", '${7*7}', '<%= it %>', '{{7*7}}', '\uD800', '\uFFFF', '🔑🔑', 'ＷＤＪＢ', 'İı',
  'BCDF-GHJK', 'bcdf ghjk', 'BCDFGHJKLMNP', 'a'.repeat(300), 'x'.repeat(4097), '\u202Eevil', 'approve', 'deny',
  'urn:ietf:params:oauth:grant-type:device_code', 'refresh_token', 'authorization_code', 'client_credentials', 'openid profile email offline_access',
  'access_token', 'refresh_token', 'https://api.example.com', 'http://evil.example/', '//evil.example', 'javascript:alert(1)'
]

const PARAM_NAMES = [
  'grant_type', 'client_id', 'client_secret', 'device_code', 'user_code', 'auth_code', 'refresh_token', 'scope', 'resource',
  'token', 'token_type_hint', 'username', 'password', '_csrf', 'decision', 'grant', 'notice', 'code', 'redirect_uri', 'state',
  '__proto__', 'constructor', '__proto__[admin]', 'a[b]', 'a[]', '', '=', 'user_code[]', 'client_id[0]'
]

const ODD_METHODS = ['OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'SEARCH', 'LOCK', 'MKCOL', 'REPORT', 'M-SEARCH', 'NOTIFY', 'LINK', 'ACL', 'SOURCE', 'QUERY', 'get', 'Post', 'FOO', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'GET', 'POST']

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded;charset=iso-8859-1', 'application/x-www-form-urlencodedx', 'application/x-www-form-urlencoded;;;=',
  'application/json', 'application/json; charset=utf-16', 'text/json', 'application/merge-patch+json', 'multipart/form-data; boundary=fuzz',
  'multipart/form-data', 'multipart/form-data; boundary=', 'text/plain', 'text/html', 'application/xml', 'application/octet-stream',
  'application/jwt', '*/*', '', ';', 'x', 'application/x-www-form-urlencoded, application/json', 'a'.repeat(2000)
]

const ACCEPTS = ['text/html', 'application/json', '*/*', 'text/html;q=0, application/json', '', 'image/png', '\u00ff\u00fe', 'text/html'.repeat(200)]

const FORWARDED_FOR = ['203.0.113.7', '203.0.113.7, 10.0.0.1', '2001:db8::1', '2001:db8:0:0:1::', '::ffff:198.51.100.2', 'not-an-ip', '', ' , ', '999.1.1.1', '[2001:db8::1]:443', 'fe80::1%eth0', '1.2.3.4.5', 'unknown', ',,,', '0', 'a'.repeat(1000)]

/** Percent-encodes like a form, or not at all, or with broken escapes. */
function encode (s: string, how: number): string {
  switch (how) {
    case 0: return encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))
    case 1: return s // raw: reserved characters and non-ASCII as they are
    case 2: return encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD')) + '%'
    case 3: return s.replace(/./gu, c => c === ' ' ? '+' : c) + '%e2%82'
    default: return Buffer.from(s, 'latin1').toString('latin1').replace(/[^A-Za-z0-9]/g, c => '%' + (c.charCodeAt(0) & 0xff).toString(16).padStart(2, '0'))
  }
}

function formEncode (params: Array<[string, string]>, how: number): string {
  return params.map(([k, v]) => `${encode(k, how)}=${encode(v, how)}`).join('&')
}

export function arbitraryRequest (route: FuzzRoute, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const value = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ctx.realValues) },
    { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 2, arbitrary: fc.string({ maxLength: 24 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 1, arbitrary: fc.constantFrom(...ctx.csrfTokens) }
  )
  const names = [...new Set([...route.params, ...route.params, ...route.params, ...PARAM_NAMES])]
  const param = fc.tuple(fc.constantFrom(...names), value)
  // Parameters, often with one repeated (RFC 6749 §3.2) and sometimes one oversized.
  const params = fc.tuple(fc.array(param, { maxLength: 7 }), fc.nat(9), fc.nat(19)).map(([ps, dup, big]) => {
    const out = [...ps]
    if (dup < 3 && out.length > 0) out.push(out[dup % out.length] as [string, string])
    if (big === 0 && out.length > 0) out[0] = [out[0]?.[0] ?? 'x', 'A'.repeat(5000 + dup * 1000)]
    return out
  })

  // A well-formed request with one small change at most: past the first checks, into the grant handlers and pages.
  const templates = ctx.validForms[route.url] ?? []
  const nearValid = templates.length === 0
    ? fc.constant(null)
    : fc.tuple(fc.constantFrom(...templates), fc.nat(7), param, fc.nat(20)).map(([tpl, change, extra, at]) => {
      const ps = [...tpl.params]
      const i = at % ps.length
      if (change === 1) ps.splice(i, 1) // one parameter missing
      else if (change === 2) ps.push(ps[i] as [string, string]) // one repeated
      else if (change === 3) ps[i] = [ps[i]?.[0] ?? 'x', extra[1]] // one value replaced
      else if (change === 4) ps.push(extra) // one more
      return { params: ps, cookie: tpl.cookie }
    })
  const body = fc.tuple(
    fc.constantFrom('none', 'form', 'form', 'form', 'json', 'multipart', 'text', 'garbage', 'oversize', 'nested-json', 'proto-json', 'valid', 'valid', 'valid'),
    params, fc.nat(5), fc.uint8Array({ maxLength: 64 }), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(...ctx.csrfTokens), nearValid
  ).map(([kind, ps, how, bytes, json, csrf, valid]): { type?: string, body: Buffer | null, cookie?: string } => {
    if (kind === 'valid' && valid !== null) {
      return { type: 'application/x-www-form-urlencoded', body: Buffer.from(formEncode(valid.params, how === 5 ? 1 : 0)), cookie: valid.cookie }
    }
    // Page forms need the session's CSRF token to get past the first check.
    if (how < 3 && route.errorFormat === 'page') ps = [...ps, ['_csrf', csrf]]
    switch (kind) {
      case 'none': return { body: null }
      case 'form': return { type: 'application/x-www-form-urlencoded', body: Buffer.from(formEncode(ps, how), how === 4 ? 'latin1' : 'utf8') }
      case 'json': return { type: 'application/json', body: Buffer.from(JSON.stringify(how < 3 ? Object.fromEntries(ps) : json) ?? 'null') }
      case 'nested-json': return { type: 'application/json', body: Buffer.from('['.repeat(2000 * (how + 1)) + ']'.repeat(how < 3 ? 2000 * (how + 1) : 0)) }
      case 'proto-json': return { type: 'application/json', body: Buffer.from(how < 3 ? '{"__proto__":{"admin":true},"grant_type":"refresh_token"}' : '{"constructor":{"prototype":{"admin":true}}}') }
      case 'multipart': {
        const parts = ps.map(([k, v]) => `--fuzz\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('')
        return { type: 'multipart/form-data; boundary=fuzz', body: Buffer.from(how === 0 ? parts : parts + '--fuzz--\r\n') }
      }
      case 'text': return { type: 'text/plain', body: Buffer.from(formEncode(ps, how)) }
      case 'garbage': return { body: Buffer.from(bytes) }
      default: return { type: 'application/x-www-form-urlencoded', body: Buffer.alloc(ctx.bodyLimit + 1 + how * 1000, 'a=b&') }
    }
  })

  const pathParamValues = Object.fromEntries(route.pathParams.map(p => [p, fc.oneof(
    fc.constantFrom(...(ctx.pathParams[p] ?? ['x'])),
    fc.constantFrom(...NASTY).map(v => encode(v, 0)),
    fc.string({ maxLength: 40 }).map(v => encode(v, 0))
  )]))
  const target = fc.tuple(fc.record(pathParamValues), fc.nat(29), fc.array(param, { maxLength: 5 }), fc.nat(5)).map(([values, variant, query, how]) => {
    let path = route.url.replace(/:(\w+)/g, (_m, p: string) => values[p] ?? 'x')
    switch (variant) {
      case 0: path += '/'; break
      case 1: path = '/' + path; break
      case 2: path = path.replace(/[a-z]/, c => '%' + c.charCodeAt(0).toString(16)); break
      case 3: path += ';jsessionid=1'; break
      case 4: path += '%'; break
      case 5: path += '%zz'; break
      case 6: path += '/..%2f..%2f'; break
      case 7: path = path.toUpperCase(); break
      case 8: path += '%C0%AF'; break
      case 9: path += '/' + 'a'.repeat(3000); break
      case 10: path = `http://127.0.0.1:${ctx.port}${path}`; break
      case 11: path += '#frag'; break
    }
    if (variant % 2 === 1 || variant > 15) {
      const q = variant === 13 ? query.map(([k]) => [k, 'A'.repeat(2000)] as [string, string]) : query
      path += '?' + formEncode(q, how) + (variant === 15 ? '&&&=&' : '')
    }
    return path
  })

  const auth = fc.option(fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ctx.authorizations) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Basic ', 'basic ', 'Digest ', 'Bearer', ''), fc.string({ maxLength: 60 })).map(([s, v]) => s + v) }
  ), { freq: 3 })
  const kept = ctx.keepAway[route.url] ?? []
  const cookies = ctx.cookies.filter(c => !kept.some(k => c.includes(k)))
  const cookie = fc.option(fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...cookies) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom('codepair', '__Host-codepair', 'a', '', ' '), fc.string({ maxLength: 30 })), { maxLength: 6 }).map(cs => cs.map(([k, v]) => `${k}=${v}`).join('; ')) }
  ), { freq: 3 })
  const extraHeaders = fc.array(fc.oneof(
    fc.constantFrom(...ACCEPTS).map(v => ['Accept', v] as [string, string]),
    fc.constantFrom(...FORWARDED_FOR).map(v => ['X-Forwarded-For', v] as [string, string]),
    fc.constantFrom('https', 'http', 'gopher', '', 'https, http').map(v => ['X-Forwarded-Proto', v] as [string, string]),
    fc.constantFrom('evil.example', '', '[::1]', 'a'.repeat(300)).map(v => ['X-Forwarded-Host', v] as [string, string]),
    fc.string({ maxLength: 80 }).map(v => ['User-Agent', v] as [string, string]),
    fc.constantFrom('gzip', 'br', 'identity', 'x').map(v => ['Content-Encoding', v] as [string, string]),
    fc.constantFrom('en', '*', 'xx-YY;q=2', '').map(v => ['Accept-Language', v] as [string, string]),
    fc.constantFrom('http://evil.example', 'null', '').map(v => ['Origin', v] as [string, string]),
    fc.constantFrom('100-continue').map(v => ['Expect', v] as [string, string]),
    fc.tuple(fc.constantFrom('X-Fuzz', 'X-Request-Id', 'Accept-Version', 'If-None-Match', 'Range'), fc.string({ maxLength: 40 }))
  ), { maxLength: 3 })
  const method = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...route.methods) }, { weight: 2, arbitrary: fc.constantFrom(...ODD_METHODS) })
  // Framing the HTTP parser must refuse; each goes on a connection of its own.
  const rawFraming = fc.nat(99).map(n => n < 92 ? null : ['double-length', 'length-and-chunked', 'bad-chunked', 'short-body', 'header-overflow', 'bare-lf', 'no-host', 'bad-header-name'][n - 92] ?? null)

  return fc.record({ method, target, body, auth, cookie, extraHeaders, contentType: fc.nat(9).chain(n => n < 7 ? fc.constant(null) : fc.constantFrom(...CONTENT_TYPES)), rawFraming })
    .map(r => {
      const headers: Array<[string, string]> = []
      if (r.auth !== null) headers.push(['Authorization', r.auth])
      const cookie = r.body.cookie ?? r.cookie
      if (cookie !== null) headers.push(['Cookie', cookie])
      const type = r.contentType ?? r.body.type
      if (type !== undefined && r.body.body !== null) headers.push(['Content-Type', type])
      headers.push(...r.extraHeaders)
      return {
        route: route.url,
        method: r.method,
        target: r.target,
        headers,
        body: r.body.body,
        framing: r.rawFraming === null ? 'normal' as const : 'raw' as const,
        hasAuthorization: r.auth !== null,
        rawFraming: r.rawFraming
      }
    })
    .map(({ rawFraming, ...req }) => rawFraming === null ? req : corruptFraming(req, rawFraming))
}

function corruptFraming (req: FuzzRequest, how: string): FuzzRequest {
  const headers = [...req.headers]
  switch (how) {
    case 'double-length': headers.push(['Content-Length', '0'], ['Content-Length', '5']); break
    case 'length-and-chunked': headers.push(['Transfer-Encoding', 'chunked']); break
    case 'bad-chunked': headers.push(['Transfer-Encoding', 'chunked, gzip']); break
    case 'short-body': headers.push(['Content-Length', String((req.body?.length ?? 0) + 10)]); break
    case 'header-overflow': headers.push(['X-Big', 'a'.repeat(20000)]); break
    case 'bare-lf': headers.push(['X-Fuzz', 'a\nb']); break
    case 'no-host': headers.push(['Host', '']); break
    case 'bad-header-name': headers.push(['Bad Header(', 'x']); break
  }
  return { ...req, headers, framing: 'raw' }
}

/** The request's bytes: request line, Host, the headers, Content-Length, the body. */
export function serialize (req: FuzzRequest, port: number): Buffer {
  const setsLength = req.headers.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k))
  const setsHost = req.headers.some(([k]) => /^host$/i.test(k))
  let head = `${req.method} ${req.target} HTTP/1.1\r\n`
  if (!setsHost) head += `Host: 127.0.0.1:${port}\r\n`
  for (const [k, v] of req.headers) head += `${k}: ${v}\r\n`
  if (!setsLength && req.body !== null) head += `Content-Length: ${req.body.length}\r\n`
  if (req.method.toUpperCase() === 'POST' && req.body === null && !setsLength) head += 'Content-Length: 0\r\n'
  head += '\r\n'
  const headBytes = Buffer.from(head, 'utf8')
  return req.body === null ? headBytes : Buffer.concat([headBytes, req.body])
}
