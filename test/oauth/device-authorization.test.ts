// RFC 8628 §3.1–3.2 through real HTTP (inject), error paths included.
import t from 'tap'
import { USER_CODE_ALPHABET } from '../../src/oauth/codes.js'
import { addClient, buildTestApp } from '../helpers/app.js'
import { basic, postForm } from '../helpers/oauth.js'

const URL = '/oauth/device_authorization'

t.test('a public client gets a complete, uncacheable device authorization response', async t => {
  const { app } = await buildTestApp(t)
  const client = await addClient(app)
  const res = await postForm(app, URL, { client_id: client.id, scope: 'openid profile' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_qr_uri', 'verification_uri', 'verification_uri_complete'])
  t.ok(Buffer.from(body.device_code, 'base64url').length >= 32, 'device_code carries at least 256 random bits')
  t.match(body.user_code, new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`))
  t.equal(body.verification_uri, 'http://localhost:3000/activate')
  t.equal(body.verification_uri_complete, `http://localhost:3000/activate?user_code=${body.user_code}`)
  t.equal(body.expires_in, 600)
  t.equal(body.interval, 5, 'interval is always sent')
  const row = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  t.not(row.deviceCodeHash, body.device_code, 'only a hash of the device code is stored')
  t.notMatch(JSON.stringify(row), body.user_code.replace('-', ''), 'the user code is not stored in clear')
  t.equal(row.scope, 'openid profile')
  t.equal(row.requestIp, '127.0.0.1')
})

t.test('codes are unique across requests', async t => {
  const { app } = await buildTestApp(t)
  const client = await addClient(app)
  const seen = new Set<string>()
  const devices = new Set<string>()
  for (let i = 0; i < 30; i++) {
    const b = (await postForm(app, URL, { client_id: client.id })).json()
    seen.add(b.user_code)
    devices.add(b.device_code)
  }
  t.equal(seen.size, 30)
  t.equal(devices.size, 30)
})

t.test('no scope means the client default scopes; a scope it may not have is invalid_scope', async t => {
  const { app } = await buildTestApp(t)
  const client = await addClient(app, { scopes: 'openid profile', defaultScopes: 'openid' })
  t.equal((await postForm(app, URL, { client_id: client.id })).statusCode, 200)
  t.equal((await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()).scope, 'openid')
  const res = await postForm(app, URL, { client_id: client.id, scope: 'openid admin' })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_scope', error_description: 'scope not allowed for this client: admin' })
  const bad = await postForm(app, URL, { client_id: client.id, scope: 'open"id' })
  t.equal(bad.json().error, 'invalid_scope')
})

t.test('client authentication', async t => {
  const { app } = await buildTestApp(t)
  const pub = await addClient(app)
  const conf = await addClient(app, { confidential: true })
  const secret = conf.clientSecret ?? ''

  t.test('unknown client → 401 invalid_client', async t => {
    const res = await postForm(app, URL, { client_id: 'nope' })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'invalid_client')
    t.equal(res.headers['www-authenticate'], undefined, 'no Basic challenge when Basic was not used')
  })
  t.test('missing client_id → 401 invalid_client', async t => {
    const res = await postForm(app, URL, { scope: 'openid' })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'invalid_client')
  })
  t.test('confidential client with client_secret_basic', async t => {
    t.equal((await postForm(app, URL, {}, { authorization: basic(conf.id, secret) })).statusCode, 200)
  })
  t.test('confidential client with client_secret_post', async t => {
    t.equal((await postForm(app, URL, { client_id: conf.id, client_secret: secret })).statusCode, 200)
  })
  t.test('confidential client without or with a wrong secret → 401', async t => {
    t.equal((await postForm(app, URL, { client_id: conf.id })).statusCode, 401)
    const res = await postForm(app, URL, {}, { authorization: basic(conf.id, 'wrong') })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'invalid_client')
    t.equal(res.headers['www-authenticate'], 'Basic realm="codepair"', 'Basic attempt gets a Basic challenge')
  })
  t.test('Basic and client_secret in one request → invalid_request', async t => {
    const res = await postForm(app, URL, { client_secret: secret }, { authorization: basic(conf.id, secret) })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  })
  t.test('Basic client differing from form client_id → invalid_request', async t => {
    const res = await postForm(app, URL, { client_id: pub.id }, { authorization: basic(conf.id, secret) })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  })
  t.test('malformed Basic header → invalid_client', async t => {
    const res = await postForm(app, URL, {}, { authorization: 'Basic !!!' })
    t.equal(res.statusCode, 401)
  })
  t.test('a public client sending a secret → invalid_client', async t => {
    t.equal((await postForm(app, URL, { client_id: pub.id, client_secret: 'x' })).statusCode, 401)
  })
  t.test('a disabled client → invalid_client', async t => {
    const other = await addClient(app)
    await app.codepair.storage.db.client.update({ where: { id: other.id }, data: { enabled: false } })
    t.equal((await postForm(app, URL, { client_id: other.id })).statusCode, 401)
  })
})

t.test('a client not registered for the device grant → unauthorized_client', async t => {
  const { app } = await buildTestApp(t)
  const client = await addClient(app)
  await app.codepair.storage.db.client.update({ where: { id: client.id }, data: { grantTypes: 'refresh_token' } })
  const res = await postForm(app, URL, { client_id: client.id })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'unauthorized_client')
})

t.test('malformed requests get RFC 6749 §5.2 JSON, never a 500', async t => {
  const { app } = await buildTestApp(t)
  const client = await addClient(app)
  const cases: Array<[string, () => Promise<{ statusCode: number, json: () => any, headers: Record<string, unknown> }>, number]> = [
    ['GET', async () => await app.inject({ method: 'GET', url: URL }), 405],
    ['JSON body', async () => await app.inject({ method: 'POST', url: URL, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ client_id: client.id }) }), 400],
    ['broken JSON', async () => await app.inject({ method: 'POST', url: URL, headers: { 'content-type': 'application/json' }, payload: '{' }), 400],
    ['text/plain', async () => await app.inject({ method: 'POST', url: URL, headers: { 'content-type': 'text/plain' }, payload: 'client_id=x' }), 400],
    ['no body', async () => await app.inject({ method: 'POST', url: URL }), 400],
    ['duplicated parameter', async () => await postForm(app, URL, `client_id=${client.id}&client_id=${client.id}`), 400],
    ['duplicated scope', async () => await postForm(app, URL, `client_id=${client.id}&scope=openid&scope=profile`), 400],
    ['oversized body', async () => await postForm(app, URL, `client_id=${client.id}&scope=${'a'.repeat(20000)}`), 400],
    ['overlong parameter', async () => await postForm(app, URL, `client_id=${'x'.repeat(5000)}`), 400]
  ]
  for (const [name, send, status] of cases) {
    const res = await send()
    t.equal(res.statusCode, status, `${name}: status`)
    t.equal(res.json().error, 'invalid_request', `${name}: invalid_request`)
    t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`)
  }
  t.equal((await app.inject({ method: 'GET', url: URL })).headers.allow, 'POST')
})

t.test('beyond MAX_LIVE_CODES live codes, new requests wait (503 + Retry-After)', async t => {
  // One client may take the whole room here (its own cap is tested in live-codes-per-client.test.ts).
  const { app, clock } = await buildTestApp(t, { env: { MAX_LIVE_CODES: '3', MAX_LIVE_CODES_PER_CLIENT: '3' } })
  const client = await addClient(app)
  const another = await addClient(app, { name: 'Radio' })
  for (let i = 0; i < 3; i++) t.equal((await postForm(app, URL, { client_id: client.id })).statusCode, 200)
  t.equal((await postForm(app, URL, { client_id: client.id })).statusCode, 429, 'the full client hears its own share is spent')
  const res = await postForm(app, URL, { client_id: another.id })
  t.equal(res.statusCode, 503, 'another client finds the room of all clients full')
  t.equal(res.json().error, 'temporarily_unavailable')
  t.ok(Number(res.headers['retry-after']) > 0)
  clock.advance(601) // the three expire
  t.equal((await postForm(app, URL, { client_id: client.id })).statusCode, 200)
})

t.test('metadata publishes the device authorization endpoint', async t => {
  const { app } = await buildTestApp(t)
  const res = await app.inject('/.well-known/oauth-authorization-server')
  t.equal(res.statusCode, 200)
  const m = res.json()
  t.equal(m.issuer, 'http://localhost:3000')
  t.equal(m.device_authorization_endpoint, 'http://localhost:3000/oauth/device_authorization')
  t.equal(m.token_endpoint, 'http://localhost:3000/oauth/token')
  t.ok(m.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'))
  t.same(m.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post'])
  const jwks = (await app.inject('/.well-known/jwks.json')).json()
  t.equal(jwks.keys.length, 1)
  t.equal(jwks.keys[0].kty, 'RSA')
  t.notOk('d' in jwks.keys[0], 'no private key material is published')
})
