// RFC 8628 §3.4–3.5: polling the token endpoint, with a frozen clock.
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { loginAccountKey } from '../../src/accounts/throttle-keys.js'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { poll, postForm, startDeviceFlow } from '../helpers/oauth.js'

async function setup (t: Test, env: Record<string, string> = {}) {
  const ctx = await buildTestApp(t, { env })
  const client = await addClient(ctx.app)
  const user = await addUser(ctx.app)
  const flow = await startDeviceFlow(ctx.app, client.id, { scope: 'openid profile' })
  const browser = new Browser(ctx.app)
  return { ...ctx, client, user, flow, browser }
}

t.test('pending, then approved: tokens exactly once, then invalid_grant', async t => {
  const { app, client, flow, browser, clock, user } = await setup(t)
  const first = await poll(app, client.id, flow.device_code)
  t.equal(first.statusCode, 400)
  t.same(first.json(), { error: 'authorization_pending', error_description: 'the user has not yet approved this device' })
  t.equal(first.headers['cache-control'], 'no-store')
  t.equal(first.headers.pragma, 'no-cache')

  const decided = await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  t.equal(decided.statusCode, 200)
  t.match(decided.body, /You can return to your device/)

  clock.advance(5)
  const ok = await poll(app, client.id, flow.device_code)
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['cache-control'], 'no-store')
  t.equal(ok.headers.pragma, 'no-cache')
  const tokens = ok.json()
  t.equal(tokens.token_type, 'Bearer')
  t.equal(tokens.expires_in, 3600)
  t.equal(tokens.scope, 'openid profile')

  const header = decodeProtectedHeader(tokens.access_token)
  t.equal(header.typ, 'at+jwt')
  t.equal(header.alg, 'RS256')
  const jwks = (await app.inject('/.well-known/jwks.json')).json()
  const key = await importJWK(jwks.keys[0], 'RS256')
  const { payload } = await jwtVerify(tokens.access_token, key, { issuer: 'http://localhost:3000', audience: 'http://localhost:3000', typ: 'at+jwt', currentDate: new Date(clock.ms) })
  t.equal(payload.sub, user.id)
  t.equal(payload.client_id, client.id)
  t.equal(payload.scope, 'openid profile')
  t.equal(payload.exp, (payload.iat ?? 0) + 3600)
  t.type(payload.jti, 'string')

  clock.advance(5)
  const again = await poll(app, client.id, flow.device_code)
  t.equal(again.statusCode, 400)
  t.equal(again.json().error, 'invalid_grant', 'a device code yields tokens once')
  const row = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  t.equal(row.status, 'consumed')
  t.not(row.revokedAt, null, 'replaying a consumed code revokes its grant')
  const issued = await app.codepair.storage.db.auditEvent.findFirstOrThrow({ where: { type: 'token.issued' } })
  t.match(issued.detail, decodeJwt(tokens.access_token).jti as string)
})

t.test('denial reaches the device at its next poll', async t => {
  const { app, client, flow, browser, clock } = await setup(t)
  await poll(app, client.id, flow.device_code)
  const decided = await browser.decide(flow.user_code, 'alice', PASSWORD, 'deny')
  t.match(decided.body, /Request denied/)
  clock.advance(5)
  const res = await poll(app, client.id, flow.device_code)
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'access_denied')
})

t.test('slow_down arithmetic (frozen clock)', async t => {
  const { app, client, flow, clock } = await setup(t)
  const code = flow.device_code
  const err = async () => (await poll(app, client.id, code)).json()

  t.equal((await err()).error, 'authorization_pending', 'the first poll is never throttled')
  clock.advance(1)
  const slow = await err()
  t.equal(slow.error, 'slow_down', 'a poll 1 s after the last accepted one is too fast')
  t.equal(slow.interval, 10, 'the interval grew by 5 s')
  clock.advance(5) // 6 s after the last accepted poll: fine before, too fast now
  t.equal((await err()).error, 'slow_down', 'the new interval holds for later polls')
  const row = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  t.equal(row.intervalSeconds, 15, 'each slow_down adds 5 s, persisted in the database')
  clock.advance(8) // 14 s after the last accepted poll ≥ 15 s − 1 s leeway
  t.equal((await err()).error, 'authorization_pending', 'about a second of jitter is forgiven')
  clock.advance(13.5) // 13.5 s < 14 s
  t.equal((await err()).error, 'slow_down')
})

t.test('polling at the advertised interval is never slowed down', async t => {
  const { app, client, flow, clock } = await setup(t)
  for (let i = 0; i < 5; i++) {
    t.equal((await poll(app, client.id, flow.device_code)).json().error, 'authorization_pending')
    clock.advance(4.2) // a little early, within the leeway
  }
})

t.test('slow_down state survives a restart (it lives in the database)', async t => {
  const { app, client, flow, clock, config } = await setup(t)
  await poll(app, client.id, flow.device_code)
  clock.advance(1)
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'slow_down')
  await app.close()
  const again = await buildTestApp(t, { databaseUrl: config.databaseUrl, clock })
  clock.advance(6)
  const slow = (await poll(again.app, client.id, flow.device_code)).json()
  t.equal(slow.error, 'slow_down', 'the 10 s interval still applies after restart')
  t.equal(slow.interval, 15)
  clock.advance(9) // 16 s after the last accepted poll
  t.equal((await poll(again.app, client.id, flow.device_code)).json().error, 'authorization_pending')
})

t.test('error paths in the RFC order', async t => {
  const { app, client, flow, clock } = await setup(t)
  const other = await addClient(app)

  const missing = await postForm(app, '/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: client.id })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().error, 'invalid_request')

  t.equal((await poll(app, client.id, 'garbage')).json().error, 'invalid_grant', 'unknown code')
  t.equal((await poll(app, client.id, '%25💥'.repeat(10))).json().error, 'invalid_grant', 'garbage code')
  t.equal((await poll(app, client.id, '%00\u0000💥'.repeat(10))).json().error, 'invalid_request', 'a NUL in the code: a malformed request (RFC 6749 §5.2)')
  t.equal((await poll(app, other.id, flow.device_code)).json().error, 'invalid_grant', "another client's code")
  t.equal((await poll(app, 'nobody', flow.device_code)).statusCode, 401, 'unknown client')

  clock.advance(601)
  const expired = await poll(app, client.id, flow.device_code)
  t.equal(expired.json().error, 'expired_token', 'expired before anything else')
})

t.test('unknown or unsupported grant types', async t => {
  const { app, client } = await setup(t)
  const res = await postForm(app, '/oauth/token', { grant_type: 'password', client_id: client.id })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'unsupported_grant_type')
  const none = await postForm(app, '/oauth/token', { client_id: client.id })
  t.equal(none.json().error, 'invalid_request', 'missing grant_type')
  const dup = await postForm(app, '/oauth/token', `grant_type=a&grant_type=b&client_id=${client.id}`)
  t.equal(dup.json().error, 'invalid_request')
  const get = await app.inject({ method: 'GET', url: '/oauth/token' })
  t.equal(get.statusCode, 405)
  t.equal(get.json().error, 'invalid_request')
})

t.test('a client not allowed the grant type → unauthorized_client', async t => {
  const { app, client, flow } = await setup(t)
  await app.codepair.storage.db.client.update({ where: { id: client.id }, data: { grantTypes: 'refresh_token' } })
  const fresh = await buildTestApp(t, { databaseUrl: app.codepair.config.databaseUrl }) // new app: no client cache
  t.equal((await poll(fresh.app, client.id, flow.device_code)).json().error, 'unauthorized_client')
})

t.test('an account disabled after approving gets no tokens', async t => {
  const { app, client, flow, browser, clock } = await setup(t)
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  await app.codepair.storage.db.user.update({ where: { username: 'alice' }, data: { enabled: false } })
  clock.advance(5)
  const res = await poll(app, client.id, flow.device_code)
  t.equal(res.json().error, 'access_denied')
})

t.test('an account locked by failed sign-ins after approving gets no tokens', async t => {
  const { app, client, flow, browser, clock } = await setup(t)
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  const attacker = new Browser(app, '198.51.100.9')
  for (let i = 0; i < 5; i++) await attacker.signIn('alice', 'wrong password')
  clock.advance(5)
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'access_denied')
})

t.test('a sign-in still being verified does not count as a lockout: the approved device gets its tokens', async t => {
  const { app, client, flow, browser, clock } = await setup(t)
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  const attacker = new Browser(app, '198.51.100.9')
  for (let i = 0; i < 4; i++) await attacker.signIn('alice', 'wrong password')
  // A fifth attempt has taken the last place in the sign-in budget and argon2 is running.
  const inFlight = await app.codepair.storage.attempts.reserve(loginAccountKey('alice'), 5, 900, new Date(clock.ms))
  t.ok(inFlight !== null && inFlight.count === 5, 'the budget is full while it runs')
  clock.advance(5)
  t.equal((await poll(app, client.id, flow.device_code)).statusCode, 200, 'four settled failures do not lock the account')
})
