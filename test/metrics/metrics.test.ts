// GET /metrics through HTTP: what a device flow moves, who may read it, and that no
// code, token, client id or address ever reaches a label.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, listenTestApp, PASSWORD, testPort } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { configProblems } from '../helpers/config.js'
import { eachDatabase } from '../helpers/db.js'
import { metric, parseMetrics, scrape, type Sample } from '../helpers/metrics.js'
import { poll, refresh, startDeviceFlow } from '../helpers/oauth.js'

const flowStep = (s: Sample[], step: string) => metric(s, 'codepair_device_flow_total', { step })
const tokenErrors = (s: Sample[], error: string) => metric(s, 'codepair_oauth_errors_total', { route: '/oauth/token', error })

async function eventually (t: Test, what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > until) { t.fail(`${what}: not within ${timeoutMs} ms`); return }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.pass(what)
}

void eachDatabase(t, 'a device flow moves the funnel and the security counters', async (t, databaseUrl, dialect) => {
  // A purge every second (real time) so a run is counted while the test goes on.
  const { app, clock } = await buildTestApp(t, { databaseUrl, env: { PURGE_INTERVAL_SECONDS: '1' } })
  const client = await addClient(app)
  await addUser(app)
  const secrets: string[] = [client.id]

  const before = await scrape(app)
  t.equal(flowStep(before, 'issued'), 0)
  t.equal(metric(before, 'codepair_live_device_codes'), 0)
  t.equal(metric(before, 'codepair_live_device_codes_limit'), 100, 'MAX_LIVE_CODES (default 100)')

  // 1. Issued, polled too early (pending, then slow_down), approved on the pages, redeemed.
  const a = await startDeviceFlow(app, client.id, { scope: 'openid offline_access' })
  secrets.push(a.device_code, a.user_code, a.user_code.replace('-', ''))
  t.equal((await poll(app, client.id, a.device_code)).json().error, 'authorization_pending')
  t.equal((await poll(app, client.id, a.device_code)).json().error, 'slow_down')
  const approved = await new Browser(app).decide(a.user_code, 'alice', PASSWORD, 'approve')
  t.match(approved.body, 'You can return to your device')
  clock.advance(30)
  const tokens = await poll(app, client.id, a.device_code)
  t.equal(tokens.statusCode, 200)
  secrets.push(tokens.json().access_token, tokens.json().refresh_token)

  // 2. The redeemed device code comes back: replayed (and what it issued is revoked).
  t.equal((await poll(app, client.id, a.device_code)).json().error, 'invalid_grant')

  // 3. A second device, approved and redeemed; its refresh token rotated, then the
  // rotated one again: reuse detected (RFC 9700 §4.14).
  const r = await startDeviceFlow(app, client.id, { scope: 'openid offline_access' })
  secrets.push(r.device_code, r.user_code)
  await new Browser(app).decide(r.user_code, 'alice', PASSWORD, 'approve')
  const second = await poll(app, client.id, r.device_code)
  t.equal(second.statusCode, 200)
  const refreshToken = second.json().refresh_token
  const rotated = await refresh(app, client.id, refreshToken)
  t.equal(rotated.statusCode, 200)
  secrets.push(refreshToken, rotated.json().refresh_token, rotated.json().access_token)
  t.equal((await refresh(app, client.id, refreshToken)).json().error, 'invalid_grant')

  // 4. Denied on the pages.
  const b = await startDeviceFlow(app, client.id)
  secrets.push(b.device_code, b.user_code)
  t.match((await new Browser(app, '203.0.113.8').decide(b.user_code, 'alice', PASSWORD, 'deny')).body, 'Request denied')
  t.equal((await poll(app, client.id, b.device_code)).json().error, 'access_denied')

  // 5. Two left waiting (live), one of them until it expires.
  const c = await startDeviceFlow(app, client.id)
  const d = await startDeviceFlow(app, client.id)
  secrets.push(c.device_code, c.user_code, d.device_code, d.user_code)
  const live = await scrape(app)
  t.equal(metric(live, 'codepair_live_device_codes'), 2, 'c and d are live (a and r redeemed, b denied)')
  clock.advance(601)
  t.equal((await poll(app, client.id, c.device_code)).json().error, 'expired_token')

  // 6. Wrong codes until the per-session budget (5) pauses entry, then one more: refused.
  const guesser = new Browser(app, '198.51.100.9')
  await guesser.get('/activate')
  for (let i = 0; i < 5; i++) t.equal((await guesser.post('/activate', { user_code: 'BCDF-GHJK' })).statusCode, 400)
  t.equal((await guesser.post('/activate', { user_code: 'BCDF-GHJK' })).statusCode, 429)

  const after = await scrape(app)
  t.same(
    Object.fromEntries(['issued', 'approved', 'denied', 'expired', 'redeemed', 'replayed'].map(s => [s, flowStep(after, s)])),
    { issued: 5, approved: 2, denied: 1, expired: 1, redeemed: 2, replayed: 1 },
    'the funnel')
  t.equal(tokenErrors(after, 'slow_down'), 1, 'slow_down answers')
  t.equal(tokenErrors(after, 'authorization_pending'), 1)
  t.equal(tokenErrors(after, 'access_denied'), 1)
  t.equal(tokenErrors(after, 'expired_token'), 1)
  t.equal(tokenErrors(after, 'invalid_grant'), 2, 'the reused refresh token and the replayed device code')
  t.equal(metric(after, 'codepair_refresh_reuse_detected_total'), 1)
  t.equal(metric(after, 'codepair_user_code_guessing_limited_total'), 1, 'the budget ran out once')
  t.equal(metric(after, 'codepair_user_code_guess_refusals_total'), 1, 'one entry refused while paused')

  // Requests by route pattern and status; _count is the request count.
  const requests = (route: string, method: string, status: string) =>
    metric(after, 'codepair_http_request_duration_seconds_count', { route, method, status })
  t.equal(requests('/oauth/device_authorization', 'POST', '200'), 5)
  t.equal(requests('/oauth/token', 'POST', '200'), 3, 'two redemptions and the refresh')
  t.equal(requests('/oauth/token', 'POST', '400'), 6, 'pending, slow_down, reuse, replay, denied, expired')
  t.equal(requests('/activate', 'POST', '429'), 1)
  t.equal(requests('/activate', 'GET', '200'), 4, 'the query string (the user code) is not part of the route')
  t.equal(metric(after, 'codepair_http_request_duration_seconds_bucket', { route: '/oauth/token', le: '+Inf' }), 9)

  // The database, as the caller waits for it: both layers; the pools on PostgreSQL.
  t.equal(metric(after, 'codepair_db_query_duration_seconds_count', { layer: 'hot_path', operation: 'poll' }), 7)
  t.equal(metric(after, 'codepair_db_query_duration_seconds_count', { layer: 'hot_path', operation: 'insert' }), 5)
  t.ok(metric(after, 'codepair_db_query_duration_seconds_count', { layer: 'prisma', operation: 'query' }) > 0)
  const pools = after.filter(s => s.name === 'codepair_db_pool_connections')
  if (dialect === 'postgresql') {
    t.ok(metric(pools, 'codepair_db_pool_connections', { pool: 'prisma', state: 'total' }) >= 1, 'the Prisma pool')
    t.ok(metric(pools, 'codepair_db_pool_connections', { pool: 'hot_path', state: 'total' }) >= 1, 'the hot-path pool')
  } else {
    t.equal(pools.length, 0, 'SQLite has no pool')
  }
  t.ok(after.some(s => s.name === 'process_cpu_seconds_total'), 'process metrics too')

  // No secret, no id, no address in any label, nor anywhere in the text.
  const text = (await app.inject('/metrics')).body
  for (const secret of secrets) t.notOk(text.includes(secret), 'no code, token or client id in the metrics')
  for (const address of ['203.0.113.7', '203.0.113.8', '198.51.100.9']) t.notOk(text.includes(address), 'no address')
  const routes = new Set(after.map(s => s.labels.route).filter(r => r !== undefined))
  for (const route of routes) t.match(route, /^(\/[a-z0-9_./:-]*|unmatched)$/i, `route label ${route} is a pattern`)

  await eventually(t, 'purge runs are counted', async () => metric(await scrape(app), 'codepair_purge_runs_total', { result: 'ok' }) >= 1)
})

t.test('unknown paths are counted as unmatched, never by their URL', async t => {
  const { app } = await buildTestApp(t)
  t.equal((await app.inject('/device/ABCD-EFGH?token=secret-ish')).statusCode, 404)
  const text = (await app.inject('/metrics')).body
  t.notMatch(text, 'ABCD-EFGH')
  t.notMatch(text, 'secret-ish')
  t.equal(metric(parseMetrics(text), 'codepair_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }), 1)
})

t.test('only peers in METRICS_ALLOW may read /metrics', async t => {
  const { app } = await buildTestApp(t)
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 200, 'loopback is allowed by default')
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '::1' })).statusCode, 200, 'IPv6 loopback too')
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '::ffff:127.0.0.1' })).statusCode, 200, 'IPv4-mapped loopback too')
  const outside = await app.inject({ url: '/metrics', remoteAddress: '203.0.113.5' })
  t.equal(outside.statusCode, 403)
  t.match(outside.json(), { error: 'forbidden', error_description: /METRICS_ALLOW/ })
  t.notMatch(outside.body, 'codepair_', 'nothing of the metrics')
  // A proxy on loopback forwarding a public client: the forwarded address is not allowed.
  for (const headers of [{ 'x-forwarded-for': '203.0.113.5' }, { 'x-forwarded-for': '127.0.0.1, 203.0.113.5' }, { forwarded: 'for=203.0.113.5;proto=https' }, { 'x-real-ip': '203.0.113.5' }, { 'x-forwarded-for': 'garbage' }]) {
    t.equal((await app.inject({ url: '/metrics', headers })).statusCode, 403, `refused through a proxy: ${JSON.stringify(headers)}`)
  }
  t.equal((await app.inject({ url: '/metrics', headers: { forwarded: 'for="[::1]:4711"' } })).statusCode, 200, 'a forwarded loopback address is fine')
})

t.test('TRUST_PROXY does not let X-Forwarded-For open /metrics', async t => {
  const { app } = await buildTestApp(t, { env: { TRUST_PROXY: 'true' } })
  const res = await app.inject({ url: '/metrics', remoteAddress: '203.0.113.5', headers: { 'x-forwarded-for': '127.0.0.1' } })
  t.equal(res.statusCode, 403, 'the socket address decides, not the header')
})

t.test('METRICS_ALLOW with a range lets that range in and loopback out', async t => {
  const { app } = await buildTestApp(t, { env: { METRICS_ALLOW: '10.0.0.0/8, 2001:db8::/32' } })
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })).statusCode, 200)
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '2001:db8::7' })).statusCode, 200)
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 403, 'loopback is no longer on the list')
})

t.test('over a real socket: refused from a peer not on the list', async t => {
  const { issuer } = await listenTestApp(t, { env: { METRICS_ALLOW: '192.0.2.1' } })
  const res = await fetch(`${issuer}/metrics`)
  t.equal(res.status, 403)
  t.equal((await fetch(`${issuer}/healthz`)).status, 200, 'the rest of the server is unaffected')
})

t.test('METRICS_PORT: served there, and not on PORT', async t => {
  const metricsPort = testPort()
  const { issuer } = await listenTestApp(t, { env: { METRICS_PORT: String(metricsPort) } })
  const main = await fetch(`${issuer}/metrics`)
  t.equal(main.status, 404, 'not on the main port')
  await main.arrayBuffer()
  t.equal((await fetch(`${issuer}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=nobody' })).status, 401)
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const samples = parseMetrics(await res.text())
  t.equal(metric(samples, 'codepair_http_request_duration_seconds_count', { route: '/oauth/device_authorization', status: '401' }), 1, 'it reports the main port\'s requests')
  t.equal(metric(samples, 'codepair_oauth_errors_total', { route: '/oauth/device_authorization', error: 'invalid_client' }), 1)
  const other = await fetch(`http://127.0.0.1:${metricsPort}/activate`)
  t.equal(other.status, 404, 'nothing else on the metrics port')
})

t.test('METRICS_ENABLED=false: no /metrics', async t => {
  const { app } = await buildTestApp(t, { env: { METRICS_ENABLED: 'false' } })
  t.equal((await app.inject('/metrics')).statusCode, 404)
  t.equal(app.codepair.metrics, undefined)
})

t.test('metrics settings are validated', async t => {
  t.match(configProblems({ METRICS_ALLOW: '127.0.0.1/33' }), 'METRICS_ALLOW: "127.0.0.1/33": the prefix length must be 0 to 32')
  t.match(configProblems({ METRICS_ALLOW: 'prometheus.internal' }), 'METRICS_ALLOW: "prometheus.internal" is not an IP address or CIDR range')
  t.match(configProblems({ METRICS_PORT: '3000' }), 'METRICS_PORT: must differ from PORT')
  t.match(configProblems({ METRICS_PORT: '70000' }), 'METRICS_PORT: must be a whole number from 1 to 65535')
  t.match(configProblems({ METRICS_ENABLED: 'maybe' }), 'METRICS_ENABLED: must be true or false')
})
