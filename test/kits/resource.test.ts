// The resource kit as a separate API would use it: remote JWKS, rotation, outages.
import Fastify from 'fastify'
import t from 'tap'
import { rotateKeys } from '../../src/admin/keys.js'
import {
  codepairResource, createCachedRemoteJwks, createVerifier, InsufficientScopeError, InvalidTokenError, KeysUnavailableError
} from '../../src/kits/resource/index.js'
import { addClient, addUser, listenTestApp } from '../helpers/app.js'
import { obtainTokens } from '../helpers/oauth.js'

async function setup (t: any) {
  const ctx = await listenTestApp(t, { env: { KEY_PUBLISH_SECONDS: '0' } })
  const client = await addClient(ctx.app)
  const user = await addUser(ctx.app)
  const token = async (scope = 'openid profile') => (await obtainTokens(ctx.app, client.id, user.id, ctx.clock.ms, { scope })).access_token as string
  let jwksFetches = 0
  const jwks = createCachedRemoteJwks(`${ctx.issuer}/.well-known/jwks.json`, {
    now: ctx.clock.now,
    fetch: async (input, init) => { jwksFetches++; return await fetch(input, init) }
  })
  const verifier = createVerifier({ issuer: ctx.issuer, audience: ctx.issuer, keys: jwks.getKey, now: ctx.clock.now })
  return { ...ctx, client, user, token, jwks, verifier, fetches: () => jwksFetches }
}

t.test('verifies with a cached remote JWKS: one fetch for many tokens', async t => {
  const { verifier, token, fetches, user } = await setup(t)
  for (let i = 0; i < 5; i++) t.equal((await verifier.verify(await token())).subject, user.id)
  t.equal(fetches(), 1)
  await t.rejects(verifier.verify(await token(), { requiredScopes: ['admin'] }), InsufficientScopeError)
  await t.rejects(verifier.verify(await token(), { audience: 'https://other.example' }), InvalidTokenError)
  await t.rejects(verifier.verify('not-a-jwt'), InvalidTokenError)
})

t.test('an unknown kid after a rotation is fetched, at most once per cooldown', async t => {
  const { app, config, clock, verifier, token, fetches } = await setup(t)
  await verifier.verify(await token())
  await rotateKeys(config, app.codepair.storage, 0, clock.now)
  await app.codepair.keys.reload()
  const fresh = await token()
  await t.rejects(verifier.verify(fresh), InvalidTokenError, 'inside the 30 s cooldown the unknown key is not fetched')
  t.equal(fetches(), 1)
  clock.advance(31)
  t.ok(await verifier.verify(fresh), 'after the cooldown the new key is fetched and the token verifies')
  t.equal(fetches(), 2)
})

t.test('codepair unreachable: cached keys keep verifying; an unknown kid fails closed', async t => {
  const { app, config, clock, verifier, token, jwks } = await setup(t)
  const before = await token()
  await verifier.verify(before)
  await rotateKeys(config, app.codepair.storage, 0, clock.now)
  await app.codepair.keys.reload()
  const unknown = await token()
  await app.close() // codepair goes away
  clock.advance(400) // past maxAge: a background refresh fails quietly
  t.ok(await verifier.verify(before), 'a token signed with a cached key still verifies')
  clock.advance(31)
  await t.rejects(verifier.verify(unknown), KeysUnavailableError, 'an unknown kid that cannot be fetched fails closed')
  await t.rejects(jwks.refresh(), KeysUnavailableError)
})

t.test('the Fastify plugin in a separate API', async t => {
  const { issuer, token, jwks, clock } = await setup(t)
  const api = Fastify()
  await api.register(codepairResource, { verifier: createVerifier({ issuer, audience: issuer, keys: jwks.getKey, now: clock.now }), realm: 'photos' })
  api.get('/photos', { preHandler: api.requireScope('profile') }, async (request) => ({ owner: request.identity?.subject }))
  api.get('/admin', { preHandler: api.requireScope('admin') }, async () => ({ ok: true }))
  t.teardown(async () => { await api.close() })
  const good = await token()
  const ok = await api.inject({ url: '/photos', headers: { authorization: `Bearer ${good}` } })
  t.equal(ok.statusCode, 200)
  t.type(ok.json().owner, 'string')
  const none = await api.inject({ url: '/photos' })
  t.equal(none.headers['www-authenticate'], 'Bearer realm="photos"')
  const forbidden = await api.inject({ url: '/admin', headers: { authorization: `Bearer ${good}` } })
  t.equal(forbidden.statusCode, 403)
  t.match(forbidden.headers['www-authenticate'], 'scope="admin"')

  // Unknown key and no JWKS reachable: 503 (fail closed), not 401.
  const cold = Fastify()
  await cold.register(codepairResource, { verifier: createVerifier({ issuer, audience: issuer, keys: createCachedRemoteJwks('http://127.0.0.1:1/jwks.json', { timeoutMs: 500 }).getKey }) })
  cold.get('/x', { preHandler: cold.requireScope() }, async () => ({}))
  t.teardown(async () => { await cold.close() })
  const unavailable = await cold.inject({ url: '/x', headers: { authorization: `Bearer ${good}` } })
  t.equal(unavailable.statusCode, 503)
})
