// The product's own paths, in flask-oauth2-devices' style: POST /oauth/device (codes)
// and POST /oauth/device/authorize (polling), through real HTTP (inject), answering
// exactly as the RFC 8628 paths do, with a frozen clock.
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { createClient } from '../../src/admin/clients.js'
import { sha256 } from '../../src/oauth/codes.js'
import { DEVICE_CODE_GRANT } from '../../src/oauth/grant-types.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { basic, FORM, poll, postForm, startDeviceFlow } from '../helpers/oauth.js'

const DEVICE = '/oauth/device'
const AUTHORIZE = '/oauth/device/authorize'
const RFC_KEYS = ['device_code', 'expires_in', 'interval', 'user_code', 'verification_qr_uri', 'verification_uri', 'verification_uri_complete']

/** `Authorization` as that library's devices send it: lower-case scheme, id and secret not form-encoded. */
const flaskBasic = (id: string, secret: string, scheme = 'basic') => `${scheme} ${Buffer.from(`${id}:${secret}`).toString('base64')}`

async function setup (t: Test, env: Record<string, string> = {}) {
  const ctx = await buildTestApp(t, { env })
  const client = await addClient(ctx.app)
  const user = await addUser(ctx.app)
  const approve = async (deviceCode: string, status: 'approved' | 'denied' = 'approved') => {
    const rec = await ctx.app.codepair.storage.devices.findByDeviceCodeHash(sha256(deviceCode))
    if (rec === null || !await ctx.app.codepair.storage.devices.decide(rec.id, status, user.id, new Date(ctx.clock.ms))) throw new Error('could not decide')
  }
  const row = async (deviceCode: string) => await ctx.app.codepair.storage.db.deviceAuthorization.findUniqueOrThrow({ where: { deviceCodeHash: sha256(deviceCode) } })
  return { ...ctx, client, user, approve, row }
}

/** The compatibility path must answer as the token endpoint does: status, JSON, caching headers. */
function sameAnswer (t: Test, own: LightMyRequestResponse, rfc: LightMyRequestResponse, what: string) {
  t.equal(own.statusCode, rfc.statusCode, `${what}: status ${rfc.statusCode}`)
  t.same(own.json(), rfc.json(), `${what}: ${rfc.body}`)
  t.equal(own.headers['cache-control'], rfc.headers['cache-control'])
  t.equal(own.headers.pragma, rfc.headers.pragma)
  t.equal(own.headers['www-authenticate'], rfc.headers['www-authenticate'])
}

t.test('POST /oauth/device: the RFC 8628 response plus authorize_link and activate_link, from the same configuration', async t => {
  const { app, client, row } = await setup(t, { DEVICE_CODE_TTL_SECONDS: '300', POLL_INTERVAL_SECONDS: '7' })
  const res = await postForm(app, DEVICE, { client_id: client.id, scope: 'openid profile' }, { 'user-agent': 'OldTV/1.0' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), [...RFC_KEYS, 'activate_link', 'authorize_link'].sort())
  t.equal(body.authorize_link, 'http://localhost:3000/oauth/device/authorize', 'the absolute URL of the polling path')
  t.equal(body.activate_link, 'http://localhost:3000/activate', 'the verification URI')
  t.equal(body.verification_uri, body.activate_link)
  t.equal(body.expires_in, 300)
  t.equal(body.interval, 7)
  const stored = await row(body.device_code)
  t.equal(stored.scope, 'openid profile')
  t.equal(stored.userAgent, 'OldTV/1.0')
  t.equal(stored.intervalSeconds, 7)
})

t.test('GET and other methods → 405 with Allow: POST on both paths', async t => {
  const { app } = await setup(t)
  for (const url of [DEVICE, AUTHORIZE]) {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await app.inject({ method, url })
      t.equal(res.statusCode, 405, `${method} ${url}`)
      t.equal(res.headers.allow, 'POST')
      t.equal(res.json().error, 'invalid_request')
    }
  }
})

t.test('POST /oauth/device: Basic in any case and no body at all, as that library\'s devices ask', async t => {
  const { app } = await setup(t)
  const conf = await addClient(app, { confidential: true })
  const secret = conf.clientSecret ?? ''
  for (const scheme of ['basic', 'Basic', 'BASIC']) {
    const res = await app.inject({ method: 'POST', url: DEVICE, headers: { authorization: flaskBasic(conf.id, secret, scheme) } })
    t.equal(res.statusCode, 200, `${scheme}, no body, no Content-Type: ${res.body}`)
    t.type(res.json().authorize_link, 'string')
  }
  const wrong = await app.inject({ method: 'POST', url: DEVICE, headers: { authorization: flaskBasic(conf.id, 'wrong') } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error, 'invalid_client')
  t.equal(wrong.headers['www-authenticate'], 'Basic realm="codepair"')
  const nobody = await app.inject({ method: 'POST', url: DEVICE })
  t.equal(nobody.statusCode, 401, 'no credentials at all')
  t.equal(nobody.json().error, 'invalid_client')
  const untyped = await app.inject({ method: 'POST', url: DEVICE, headers: { authorization: flaskBasic(conf.id, secret), 'content-length': '9' }, payload: 'scope=abc' })
  t.equal(untyped.statusCode, 400, 'a body without Content-Type is still refused')
  t.equal(untyped.json().error, 'invalid_request')
})

t.test('POST /oauth/device refuses what /oauth/device_authorization refuses, in the same words', async t => {
  const { app, client } = await setup(t)
  const conf = await addClient(app, { confidential: true })
  const cases: Array<[string, { payload: string, headers?: Record<string, string> }]> = [
    ['unknown client', { payload: 'client_id=nobody' }],
    ['no client_id', { payload: 'scope=openid' }],
    ['a scope the client may not have', { payload: `client_id=${client.id}&scope=admin` }],
    ['a malformed scope', { payload: `client_id=${client.id}&scope=${encodeURIComponent('open"id')}` }],
    ['a repeated parameter', { payload: `client_id=${client.id}&scope=openid&scope=profile` }],
    ['an unknown resource', { payload: `client_id=${client.id}&resource=${encodeURIComponent('https://api.example.com')}` }],
    ['a resource with a fragment', { payload: `client_id=${client.id}&resource=${encodeURIComponent('https://api.example.com/#x')}` }],
    ['a secret for a public client', { payload: `client_id=${client.id}&client_secret=x` }],
    ['a wrong secret by Basic', { payload: '', headers: { authorization: basic(conf.id, 'nope') } }],
    ['Basic and client_secret together', { payload: `client_secret=${conf.clientSecret ?? ''}`, headers: { authorization: basic(conf.id, conf.clientSecret ?? '') } }],
    ['a JSON body', { payload: JSON.stringify({ client_id: client.id }), headers: { 'content-type': 'application/json' } }]
  ]
  for (const [what, { payload, headers }] of cases) {
    const send = async (url: string) => await app.inject({ method: 'POST', url, payload, headers: { ...FORM, ...headers } })
    sameAnswer(t, await send(DEVICE), await send('/oauth/device_authorization'), what)
  }
  t.equal(await app.codepair.storage.db.deviceAuthorization.count(), 0, 'nothing was created')
})

t.test('both paths share one per-address budget', async t => {
  const { app, client } = await setup(t, { DEVICE_AUTHORIZATION_RATE_PER_IP: '3' })
  const ask = async (url: string) => (await app.inject({ method: 'POST', url, headers: FORM, payload: `client_id=${client.id}`, remoteAddress: '198.51.100.23' })).statusCode
  t.same([await ask('/oauth/device_authorization'), await ask(DEVICE), await ask('/oauth/device_authorization')], [200, 200, 200])
  t.equal(await ask(DEVICE), 429, 'the fourth request from the address, whichever path')
  t.equal(await ask('/oauth/device_authorization'), 429)
})

t.test('polling: every answer is the token endpoint\'s, step by step', async t => {
  const { app, client, clock, approve, row } = await setup(t)
  const other = await addClient(app)
  // Two codes created together, one polled at each path at the same instants.
  const a = await startDeviceFlow(app, client.id)
  const b = await startDeviceFlow(app, client.id)
  const rfc = async (code: string, extra: Record<string, string> = {}) => await poll(app, client.id, code, extra)
  const own = async (code: string, extra: Record<string, string> = {}) => await postForm(app, AUTHORIZE, { client_id: client.id, device_code: code, ...extra })

  sameAnswer(t, await own(b.device_code), await rfc(a.device_code), 'first poll: authorization_pending')
  clock.advance(1)
  sameAnswer(t, await own(b.device_code), await rfc(a.device_code), 'too early: slow_down with the new interval')
  t.equal((await row(b.device_code)).intervalSeconds, 10, 'the +5 s is persisted')
  clock.advance(6)
  sameAnswer(t, await own(b.device_code), await rfc(a.device_code), 'the longer interval holds (and grows again)')
  clock.advance(10)
  sameAnswer(t, await own(b.device_code), await rfc(a.device_code), 'on time again (16 s ≥ 15 s − leeway): authorization_pending')
  t.equal((await row(b.device_code)).intervalSeconds, 15)

  await approve(a.device_code)
  await approve(b.device_code)
  clock.advance(15)
  const [tokensA, tokensB] = [await rfc(a.device_code), await own(b.device_code)]
  t.equal(tokensB.statusCode, 200)
  t.same(Object.keys(tokensB.json()).sort(), Object.keys(tokensA.json()).sort(), 'the same token response')
  t.equal(tokensB.json().scope, tokensA.json().scope)
  t.equal(tokensB.json().expires_in, tokensA.json().expires_in)
  t.equal(tokensB.headers['cache-control'], 'no-store')
  clock.advance(15)
  sameAnswer(t, await own(b.device_code), await rfc(a.device_code), 'a replay: invalid_grant')
  t.not((await row(b.device_code)).revokedAt, null, 'and the replayed grant is revoked, as at the token endpoint')

  const deniedA = await startDeviceFlow(app, client.id)
  const deniedB = await startDeviceFlow(app, client.id)
  await approve(deniedA.device_code, 'denied')
  await approve(deniedB.device_code, 'denied')
  sameAnswer(t, await own(deniedB.device_code), await rfc(deniedA.device_code), 'denied: access_denied')

  sameAnswer(t, await own('no-such-code'), await rfc('no-such-code'), 'unknown device_code')
  const foreign = await startDeviceFlow(app, other.id)
  sameAnswer(t, await own(foreign.device_code), await rfc(foreign.device_code), "another client's device_code")
  sameAnswer(t, await postForm(app, AUTHORIZE, { client_id: client.id }), await postForm(app, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: client.id }), 'no device_code')
  sameAnswer(t, await postForm(app, AUTHORIZE, { client_id: 'nobody', device_code: 'x' }), await poll(app, 'nobody', 'x'), 'unknown client')

  const expiringA = await startDeviceFlow(app, client.id)
  const expiringB = await startDeviceFlow(app, client.id)
  clock.advance(601)
  sameAnswer(t, await own(expiringB.device_code), await rfc(expiringA.device_code), 'expired: expired_token')
})

t.test('grant_type is implied; another grant type is refused', async t => {
  const { app, client } = await setup(t)
  const flow = await startDeviceFlow(app, client.id)
  const ask = async (extra: Record<string, string>) => (await postForm(app, AUTHORIZE, { client_id: client.id, device_code: flow.device_code, ...extra })).json()
  t.equal((await ask({ grant_type: DEVICE_CODE_GRANT })).error, 'authorization_pending', 'the device grant, named')
  const refresh = await postForm(app, AUTHORIZE, { client_id: client.id, grant_type: 'refresh_token', refresh_token: 'x' })
  t.equal(refresh.statusCode, 400)
  t.equal(refresh.json().error, 'unsupported_grant_type')
})

t.test('a client not allowed the device grant: unauthorized_client at both own paths, as at the RFC ones', async t => {
  const { app, client } = await setup(t)
  const flow = await startDeviceFlow(app, client.id)
  await app.codepair.storage.db.client.update({ where: { id: client.id }, data: { grantTypes: 'refresh_token' } })
  const fresh = (await buildTestApp(t, { databaseUrl: app.codepair.config.databaseUrl })).app // no client cache
  sameAnswer(t, await postForm(fresh, DEVICE, { client_id: client.id }), await postForm(fresh, '/oauth/device_authorization', { client_id: client.id }), 'asking for codes')
  sameAnswer(t, await postForm(fresh, AUTHORIZE, { client_id: client.id, device_code: flow.device_code }), await poll(fresh, client.id, flow.device_code), 'polling')
  t.equal((await postForm(fresh, AUTHORIZE, { client_id: client.id, device_code: flow.device_code })).json().error, 'unauthorized_client')
})

t.test('an empty poll (202 from that library) is 400 invalid_request', async t => {
  const { app } = await setup(t)
  const conf = await addClient(app, { confidential: true })
  const res = await app.inject({ method: 'POST', url: AUTHORIZE, headers: { authorization: flaskBasic(conf.id, conf.clientSecret ?? '') } })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_request', error_description: 'device_code is required' })
})

t.test('client authentication at /oauth/device/authorize, as at the token endpoint', async t => {
  const { app, client } = await setup(t)
  const conf = await addClient(app, { confidential: true })
  const secret = conf.clientSecret ?? ''
  const pub = await startDeviceFlow(app, client.id)
  const confFlow = (await postForm(app, DEVICE, {}, { authorization: flaskBasic(conf.id, secret) })).json()

  t.equal((await postForm(app, AUTHORIZE, { client_id: client.id, device_code: pub.device_code })).json().error, 'authorization_pending', 'public: client_id')
  const none = await postForm(app, AUTHORIZE, { device_code: pub.device_code })
  t.equal(none.statusCode, 401, 'no client authentication')
  t.equal(none.json().error, 'invalid_client')
  for (const scheme of ['basic', 'BaSiC']) {
    const res = await postForm(app, AUTHORIZE, { device_code: confFlow.device_code }, { authorization: flaskBasic(conf.id, secret, scheme) })
    t.not(res.json().error, 'invalid_client', `confidential by "${scheme}"`)
  }
  const wrong = await postForm(app, AUTHORIZE, { device_code: confFlow.device_code }, { authorization: flaskBasic(conf.id, 'wrong') })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.headers['www-authenticate'], 'Basic realm="codepair"')
  const idOnly = await postForm(app, AUTHORIZE, { client_id: conf.id, device_code: confFlow.device_code })
  t.equal(idOnly.statusCode, 401, 'a confidential client without its secret')
  const both = await postForm(app, AUTHORIZE, { client_secret: secret, device_code: confFlow.device_code }, { authorization: flaskBasic(conf.id, secret) })
  t.equal(both.json().error, 'invalid_request', 'Basic and client_secret together')
})

t.test('auth_code: the right user code redeems, a wrong one changes nothing', async t => {
  const { app, client, clock, approve, row } = await setup(t)
  const flow = await startDeviceFlow(app, client.id)
  const neighbour = await startDeviceFlow(app, client.id)
  const ask = async (authCode: string) => await postForm(app, AUTHORIZE, { client_id: client.id, device_code: flow.device_code, auth_code: authCode })

  t.equal((await ask(flow.user_code)).json().error, 'authorization_pending', 'the right code while pending')
  await approve(flow.device_code)
  const before = await row(flow.device_code)
  for (const wrongCode of ['BCDF-GHJK', neighbour.user_code, flow.user_code.slice(0, 8), `${flow.user_code}B`, '----', '💥']) {
    const res = await ask(wrongCode)
    t.equal(res.statusCode, 400, `auth_code ${wrongCode}`)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'auth_code does not match the device_code' })
    t.notMatch(res.body, flow.user_code, 'the real code is never revealed')
  }
  const after = await row(flow.device_code)
  t.equal(after.status, 'approved', 'the approval is intact')
  t.same(after.lastPollAt, before.lastPollAt, 'no poll was recorded')
  t.equal(after.intervalSeconds, before.intervalSeconds, 'no slow_down step, though the wrong codes came fast')
  t.equal((await row(neighbour.device_code)).status, 'pending', 'the neighbour whose code was sent is untouched')

  clock.advance(5)
  const spelled = flow.user_code.toLowerCase().replace('-', ' ')
  const ok = await ask(spelled)
  t.equal(ok.statusCode, 200, `normalised as on /activate ("${spelled}")`)
  t.type(ok.json().access_token, 'string')
  clock.advance(5)
  t.equal((await ask(flow.user_code)).json().error, 'invalid_grant', 'once only')
})

t.test('auth_code is no oracle: unknown and foreign device codes answer as without it', async t => {
  const { app, client } = await setup(t)
  const other = await addClient(app)
  const foreign = await startDeviceFlow(app, other.id)
  const ask = async (deviceCode: string, authCode?: string) =>
    await postForm(app, AUTHORIZE, { client_id: client.id, device_code: deviceCode, ...(authCode === undefined ? {} : { auth_code: authCode }) })
  const plain = await ask('no-such-code')
  sameAnswer(t, await ask('no-such-code', 'BCDF-GHJK'), plain, 'unknown code, any auth_code')
  sameAnswer(t, await ask(foreign.device_code, foreign.user_code), plain, "another client's code with its right user code")
  sameAnswer(t, await ask(foreign.device_code, 'BCDF-GHJK'), plain, "another client's code with a wrong one")
  sameAnswer(t, await ask(foreign.device_code), plain, "another client's code without auth_code")
})

t.test('the RFC paths are unchanged: /oauth/token ignores auth_code', async t => {
  const { app, client, approve } = await setup(t)
  const flow = await startDeviceFlow(app, client.id)
  await approve(flow.device_code)
  const res = await poll(app, client.id, flow.device_code, { auth_code: 'BCDF-GHJK' })
  t.equal(res.statusCode, 200)
})

t.test('Basic credentials sent unencoded, as that library\'s devices do, even with + and %', async t => {
  const { app } = await setup(t)
  const id = 'tv+1%'
  const secret = 'q+w/e%zz='
  await createClient(app.codepair.storage.db, { name: 'Old TV', id, secret })
  const raw = flaskBasic(id, secret)
  const started = await app.inject({ method: 'POST', url: DEVICE, headers: { authorization: raw } })
  t.equal(started.statusCode, 200, 'codes at /oauth/device')
  const polled = await postForm(app, AUTHORIZE, { device_code: started.json().device_code, auth_code: started.json().user_code }, { authorization: raw })
  t.equal(polled.json().error, 'authorization_pending', 'polls at /oauth/device/authorize')
  const rfc = await postForm(app, '/oauth/device_authorization', {}, { authorization: raw })
  t.equal(rfc.statusCode, 401, 'the RFC path keeps RFC 6749 §2.3.1: credentials are form-encoded')
  t.equal((await postForm(app, '/oauth/device_authorization', {}, { authorization: basic(id, secret) })).statusCode, 200)
  t.equal((await postForm(app, DEVICE, {}, { authorization: basic(id, secret) })).statusCode, 200, 'encoded credentials work on the own paths too')
  t.equal((await postForm(app, DEVICE, {}, { authorization: flaskBasic(id, 'q w/e%zz=') })).statusCode, 401, 'a wrong secret is still wrong')
})

t.test('discovery names both paths; device_authorization_endpoint stays the standard one', async t => {
  const { app } = await setup(t)
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const m = (await app.inject(path)).json()
    t.equal(m.device_authorization_endpoint, 'http://localhost:3000/oauth/device_authorization', path)
    t.equal(m.token_endpoint, 'http://localhost:3000/oauth/token')
    t.equal(m.codepair_device_endpoint, 'http://localhost:3000/oauth/device')
    t.equal(m.codepair_device_authorize_endpoint, 'http://localhost:3000/oauth/device/authorize')
  }
})
