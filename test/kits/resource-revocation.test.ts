// The resource kit's revocation option against a real codepair server: local
// verification stays the default (a revoked token is good until it expires); with
// createIntrospectionCheck a revoked token is refused once its cached answer is older
// than cacheMs, and an unreachable codepair fails closed.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import {
  codepairResource, createCachedRemoteJwks, createIntrospectionCheck, createVerifier, InvalidTokenError, RevocationUnavailableError, type VerifierOptions
} from '../../src/kits/resource/index.js'
import { addClient, addUser, listenTestApp } from '../helpers/app.js'
import { form, FORM, obtainTokens } from '../helpers/oauth.js'

async function setup (t: Test, check: Partial<Parameters<typeof createIntrospectionCheck>[0]> | null = {}) {
  const ctx = await listenTestApp(t)
  const device = await addClient(ctx.app)
  const apiClient = await addClient(ctx.app, { confidential: true, name: 'Photos API' })
  const user = await addUser(ctx.app)
  let introspections = 0
  const jwks = createCachedRemoteJwks(`${ctx.issuer}/.well-known/jwks.json`, { now: ctx.clock.now })
  const options: VerifierOptions = { issuer: ctx.issuer, audience: ctx.issuer, keys: jwks.getKey, now: ctx.clock.now }
  if (check !== null) {
    options.revocation = createIntrospectionCheck({
      endpoint: `${ctx.issuer}/oauth/introspect`,
      clientId: apiClient.id,
      clientSecret: apiClient.clientSecret ?? '',
      now: ctx.clock.now,
      fetch: async (input, init) => { introspections++; return await fetch(input, init) },
      ...check
    })
  }
  const verifier = createVerifier(options)
  const api = Fastify()
  await api.register(codepairResource, { verifier, realm: 'photos' })
  api.get('/photos', { preHandler: api.requireScope('profile') }, async (request) => ({ owner: request.identity?.subject }))
  api.get('/admin', { preHandler: api.requireScope('admin') }, async () => ({ ok: true }))
  t.teardown(async () => { await api.close() })
  const tokens = async () => await obtainTokens(ctx.app, device.id, user.id, ctx.clock.ms, { scope: 'profile offline_access' })
  const call = async (token: string, url = '/photos') => await api.inject({ url, headers: { authorization: `Bearer ${token}` } })
  const revoke = async (token: string) => {
    const res = await fetch(`${ctx.issuer}/oauth/revoke`, { method: 'POST', headers: FORM, body: form({ token, client_id: device.id }) })
    t.equal(res.status, 200, 'revoked at codepair')
  }
  return { ...ctx, verifier, tokens, call, revoke, introspections: () => introspections }
}

t.test('default: local verification only, a revoked token is good until it expires', async t => {
  const { tokens, call, revoke } = await setup(t, null)
  const { access_token: token, refresh_token: refresh } = await tokens()
  t.equal((await call(token)).statusCode, 200)
  await revoke(refresh)
  t.equal((await call(token)).statusCode, 200, 'no request to codepair: the grant\'s revocation is not seen (documented)')
})

t.test('with createIntrospectionCheck: refused once the cached answer is older than cacheMs', async t => {
  const { tokens, call, revoke, clock, introspections } = await setup(t, { cacheMs: 1000 })
  const { access_token: token, refresh_token: refresh } = await tokens()
  t.equal((await call(token)).statusCode, 200)
  t.equal(introspections(), 1)
  for (let i = 0; i < 5; i++) t.equal((await call(token)).statusCode, 200)
  t.equal(introspections(), 1, 'within cacheMs the answer is reused')

  await revoke(refresh) // the device is disconnected: its grant is revoked
  t.equal((await call(token)).statusCode, 200, 'inside the 1 s window the cached answer still stands (the stated bound)')
  clock.advance(1)
  const res = await call(token)
  t.equal(res.statusCode, 401, 'a second later it is refused')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="photos", error="invalid_token", error_description="the access token has been revoked"')
  t.equal(introspections(), 2)
  t.equal((await call(token, '/admin')).statusCode, 401, 'invalid_token, not insufficient_scope, for a scope it lacks')
})

t.test('concurrent requests with one token share one introspection', async t => {
  const { tokens, call, introspections } = await setup(t, { cacheMs: 0 })
  const { access_token: token } = await tokens()
  const answers = await Promise.all(Array.from({ length: 20 }, async () => (await call(token)).statusCode))
  t.same(new Set(answers), new Set([200]))
  t.ok(introspections() < 20, `in flight together: ${introspections()} introspection requests for 20 calls`)
  const before = introspections()
  await call(token)
  t.equal(introspections(), before + 1, 'cacheMs 0: every later request asks again')
})

t.test('a revoked access token (RFC 7009) is refused through the verifier too', async t => {
  const { tokens, verifier, revoke, clock } = await setup(t, { cacheMs: 1000 })
  const { access_token: token } = await tokens()
  t.equal((await verifier.verify(token, { requiredScopes: ['profile'] })).scopes.includes('profile'), true)
  await revoke(token)
  clock.advance(1)
  await t.rejects(verifier.verify(token), InvalidTokenError)
})

t.test('codepair unreachable or refusing the API\'s credentials: fail closed with 503', async t => {
  const bad = await setup(t, { clientSecret: 'wrong' })
  const { access_token: token } = await bad.tokens()
  await t.rejects(bad.verifier.verify(token), RevocationUnavailableError, 'introspection answered 401: cannot tell, so refuse')
  const res = await bad.call(token)
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')

  const gone = await setup(t, { cacheMs: 0 })
  const live = (await gone.tokens()).access_token
  t.equal((await gone.call(live)).statusCode, 200)
  await gone.app.close()
  t.equal((await gone.call(live)).statusCode, 503, 'codepair down: refused, retryable')
})

t.test('cacheMs is bounded', async t => {
  t.throws(() => createIntrospectionCheck({ endpoint: 'http://127.0.0.1:1/oauth/introspect', clientId: 'a', clientSecret: 'b', cacheMs: 120000 }), RangeError)
})
