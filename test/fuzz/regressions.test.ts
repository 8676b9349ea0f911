// What the fuzz suite found, each pinned by one example through real HTTP.
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { addClient, buildTestApp, listenTestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { sendOnce } from './harness/raw-http.js'

const RFC6749_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/

function portOf (issuer: string): number {
  return Number(new URL(issuer).port)
}

t.test('a request the HTTP parser refuses gets RFC 6749 JSON, not fastify\'s {"error":"Bad Request"}', async t => {
  const { issuer } = await listenTestApp(t)
  for (const [what, head] of [
    ['a space in a header name', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header(: x\r\n\r\n'],
    ['two Content-Length headers', 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n'],
    ['an unknown method', 'FOO /oauth/token HTTP/1.1\r\nHost: x\r\n\r\n']
  ] as const) {
    const [res] = await sendOnce(portOf(issuer), Buffer.from(head), false, 30_000)
    t.equal(res?.status, 400, `${what}: 400`)
    t.match(res?.headers['content-type'], /^application\/json/, `${what}: JSON`)
    t.same(JSON.parse(res?.body.toString() ?? '{}'), { error: 'invalid_request', error_description: 'malformed HTTP request' }, `${what}: RFC 6749 §5.2 body`)
  }
  const [big] = await sendOnce(portOf(issuer), Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`), false, 30_000)
  t.equal(big?.status, 431, 'oversized headers: 431')
  t.equal(JSON.parse(big?.body.toString() ?? '{}').error, 'invalid_request', 'oversized headers: invalid_request')
})

t.test('a path that is not valid percent-encoded UTF-8 gets RFC 6749 JSON', async t => {
  const { issuer } = await listenTestApp(t)
  for (const path of ['/oauth/token%', '/activate%zz', '/oauth/device%C0%AF']) {
    const res = await fetch(`${issuer}${path}`, { method: 'POST' })
    t.equal(res.status, 400, `${path}: 400`)
    t.same(await res.json(), { error: 'invalid_request', error_description: 'the request path is not valid percent-encoded UTF-8' }, `${path}: RFC 6749 §5.2 body`)
    t.equal(res.headers.get('cache-control'), 'no-store')
  }
})

t.test('error_description holds only the characters RFC 6749 §5.2 allows, even when it repeats what the client sent', async t => {
  const { issuer, app } = await listenTestApp(t)
  const client = await addClient(app)
  const post = async (body: string) => await fetch(`${issuer}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
  const echoed = await post(`grant_type=${encodeURIComponent('é"\\\u0001x')}&client_id=${client.id}`)
  const a = await echoed.json() as { error: string, error_description: string }
  t.equal(a.error, 'unsupported_grant_type')
  t.match(a.error_description, RFC6749_CHARS, `no quote, backslash or non-ASCII: ${a.error_description}`)
  t.equal(a.error_description, 'unsupported grant_type: ????x', 'refused characters become ?')
  const repeated = await post(`grant_type=refresh_token&grant_type=refresh_token&client_id=${client.id}`)
  const b = await repeated.json() as { error: string, error_description: string }
  t.equal(b.error, 'invalid_request')
  t.match(b.error_description, RFC6749_CHARS, `a repeated parameter's description: ${b.error_description}`)
  t.match(b.error_description, /RFC 6749 section 3\.2/)
})

t.test('a device authorization request whose client hangs up is not logged as a server error', async t => {
  const lines: string[] = []
  const { app } = await buildTestApp(t, {
    env: { DEVICE_AUTHORIZATION_RATE_PER_IP: '20', LOG_LEVEL: 'warn' },
    logStream: { write: (line: string) => { if (JSON.parse(line).level >= 50) lines.push(line) } }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  const issuer = `http://127.0.0.1:${port}`
  // The request arrives, then the connection is reset before the rate limiter reads the
  // client's address (node forgets it once the socket is gone).
  await Promise.all(Array.from({ length: 100 }, async () => await new Promise<void>(resolve => {
    const s = connect({ host: '127.0.0.1', port })
    s.on('error', () => {})
    s.on('close', () => resolve())
    s.write('POST /oauth/device_authorization HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nclient_id=x', () => s.resetAndDestroy())
  })))
  await new Promise(resolve => setTimeout(resolve, 500))
  const ok = await fetch(`${issuer}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=unknown' })
  t.equal(ok.status, 401, 'the endpoint still answers')
  t.same(lines, [], 'no error-level log line')
})

await eachDatabase(t, 'a NUL in a parameter or in Basic credentials is refused, never a 500 (PostgreSQL refuses NUL in text)', async (t, databaseUrl) => {
  const { app, issuer } = await listenTestApp(t, { databaseUrl })
  const client = await addClient(app, { confidential: true } as Parameters<typeof addClient>[1])
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  for (const [path, body] of [
    ['/oauth/device/authorize', `client_id=${client.id}&device_code=abc%00def`],
    ['/oauth/token', `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=${client.id}&device_code=%00`],
    ['/oauth/device_authorization', `client_id=a%00b`]
  ] as const) {
    const res = await fetch(`${issuer}${path}`, { method: 'POST', headers: form, body })
    t.equal(res.status, 400, `${path}: 400`)
    t.match(await res.json(), { error: 'invalid_request' }, `${path}: invalid_request`)
  }
  for (const user of ['a\u0000b', encodeURIComponent('a\u0000b')]) {
    const basic = Buffer.from(`${user}:secret`).toString('base64')
    const res = await fetch(`${issuer}/oauth/device/authorize`, { method: 'POST', headers: { ...form, authorization: `Basic ${basic}` }, body: 'device_code=x' })
    t.equal(res.status, 401, `Basic with a NUL (${user === 'a\u0000b' ? 'raw' : 'form-encoded'}): 401`)
    t.match(await res.json(), { error: 'invalid_client' })
  }
  const page = await fetch(`${issuer}/activate?user_code=AB%00CD`)
  t.ok(page.status < 500, `a page: ${page.status}, not a 5xx`)
})
