// Permission providers per resource server: scopes narrowed (never widened), a
// `permissions` claim on issue and refresh, refusals and failures as RFC errors, the
// resource kit's request.identity.permissions; and the public keys as PEM.
import Fastify from 'fastify'
import { decodeJwt, importSPKI, jwtVerify } from 'jose'
import t from 'tap'
import { rotateKeys } from '../../src/admin/keys.js'
import { createResourceServer } from '../../src/admin/resources.js'
import type { Hooks, PermissionRequest } from '../../src/events/types.js'
import { codepairResource } from '../../src/kits/resource/fastify.js'
import { createVerifier } from '../../src/kits/resource/verifier.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { obtainTokens, poll, refresh, startDeviceFlow } from '../helpers/oauth.js'
import { sha256 } from '../../src/oauth/codes.js'

const API = 'https://photos.example.com'

t.test('a permission provider decides an API\'s scopes and permissions on issue and refresh', async t => {
  const calls: PermissionRequest[] = []
  let mode: 'grant' | 'deny' | 'throw' | 'hang' | 'array' | 'huge' = 'grant'
  const hooks: Hooks = {
    permissions: {
      [API]: async (request) => {
        calls.push(request)
        switch (mode) {
          case 'grant': return { scopes: [...request.scopes.filter(s => s !== 'photos:admin'), 'photos:delete'], permissions: { albums: ['holidays'], call: calls.length } }
          case 'deny': return { deny: 'contractors may not use the photo API' }
          case 'throw': throw new Error('LDAP is down')
          case 'hang': return await new Promise(() => {})
          case 'array': return { scopes: request.scopes, permissions: ['not', 'an', 'object'] } as never
          case 'huge': return { scopes: request.scopes, permissions: { blob: 'x'.repeat(5000) } }
        }
      }
    }
  }
  const { app, clock, config } = await buildTestApp(t, { hooks, env: { HOOK_TIMEOUT_MS: '300' } })
  const { storage, keys } = app.codepair
  await createResourceServer(storage.db, { identifier: API, scopes: 'photos:read photos:admin photos:delete' })
  const user = await addUser(app)
  const client = await addClient(app, { scopes: 'openid offline_access photos:read photos:admin photos:delete', grantTypes: 'device_code refresh_token' })

  const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid offline_access photos:read photos:admin', resource: API })
  t.equal(tokens.scope, 'openid offline_access photos:read', 'photos:admin refused; photos:delete was never asked for, so it is dropped')
  t.type(tokens.id_token, 'string', 'identity scopes are codepair\'s and pass through')
  const claims = decodeJwt(tokens.access_token)
  t.match(claims, { aud: API, scope: 'openid offline_access photos:read', permissions: { albums: ['holidays'], call: 1 } })
  t.match(calls[0], { audience: API, user: { id: user.id, username: 'alice' }, clientId: client.id, scopes: ['photos:read', 'photos:admin'], grantType: 'device_code' })

  // A resource server with the kit sees the claim on request.identity.
  const api = Fastify()
  t.teardown(async () => { await api.close() })
  await api.register(codepairResource, { verifier: createVerifier({ issuer: config.issuer, audience: API, keys: keys.getKey, now: clock.now }) })
  api.get('/albums', { preHandler: api.requireScope('photos:read') }, async (request) => request.identity)
  const seen = await api.inject({ url: '/albums', headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(seen.statusCode, 200)
  t.match(seen.json(), { subject: user.id, scopes: ['openid', 'offline_access', 'photos:read'], permissions: { albums: ['holidays'], call: 1 } })

  // Refresh asks again: permissions follow the provider's current answer.
  const refreshed = await refresh(app, client.id, tokens.refresh_token)
  t.equal(refreshed.statusCode, 200)
  t.match(decodeJwt(refreshed.json().access_token), { permissions: { call: 2 } })
  t.match(calls[1], { grantType: 'refresh_token', scopes: ['photos:read', 'photos:admin'] }, 'the refresh token keeps what the person granted')

  // No provider for the default audience: those tokens are untouched.
  const plain = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid' })
  t.equal(calls.length, 2)
  t.equal(decodeJwt(plain.access_token).permissions, undefined)

  // The provider refuses: the device gets access_denied, a refresh invalid_grant.
  mode = 'deny'
  const flow = await startDeviceFlow(app, client.id, { scope: 'photos:read', resource: API })
  const rec = (await storage.devices.findByDeviceCodeHash(sha256(flow.device_code)))!
  await storage.devices.decide(rec.id, 'approved', user.id, new Date(clock.ms))
  const denied = await poll(app, client.id, flow.device_code)
  t.equal(denied.statusCode, 400)
  t.same(denied.json(), { error: 'access_denied', error_description: 'contractors may not use the photo API' })
  const noRefresh = await refresh(app, client.id, refreshed.json().refresh_token)
  t.same(noRefresh.json(), { error: 'invalid_grant', error_description: 'contractors may not use the photo API' })

  // Failures are on our side: 503 + Retry-After, never a 500; the device keeps polling.
  const again = await startDeviceFlow(app, client.id, { scope: 'photos:read', resource: API })
  const rec2 = (await storage.devices.findByDeviceCodeHash(sha256(again.device_code)))!
  await storage.devices.decide(rec2.id, 'approved', user.id, new Date(clock.ms))
  for (const m of ['throw', 'hang', 'array', 'huge'] as const) {
    mode = m
    clock.advance(6)
    const res = await poll(app, client.id, again.device_code)
    t.equal(res.statusCode, 503, m)
    t.equal(res.headers['retry-after'], '5')
    t.match(res.json(), { error: 'temporarily_unavailable', error_description: 'the permissions for this API could not be checked; try again shortly' })
  }
  mode = 'grant'
  clock.advance(6)
  const recovered = await poll(app, client.id, again.device_code)
  t.equal(recovered.statusCode, 200, 'the code was not used up: once the provider answers, the device gets its tokens')
  t.equal(recovered.json().scope, 'photos:read')
})

t.test('GET /oauth/public-keys.pem: every published key, the signing one first', async t => {
  const { app, clock, config } = await buildTestApp(t)
  const { keys, storage } = app.codepair
  const user = await addUser(app)
  const client = await addClient(app)
  const signedBefore = await obtainTokens(app, client.id, user.id, clock.ms)
  // A rotation publishes the next key at once; it signs only after 10 minutes.
  await rotateKeys(config, storage, 600, clock.now)
  await keys.reload()
  const jwks = keys.jwks().keys
  t.equal(jwks.length, 2)
  const res = await app.inject({ url: '/oauth/public-keys.pem' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'application/x-pem-file')
  t.equal(res.headers['cache-control'], 'public, max-age=300')
  const blocks = res.body.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----\n/g) ?? []
  t.equal(blocks.length, 2, 'both published keys')
  t.equal(blocks.join(''), res.body, 'nothing else')
  t.equal(decodeJwt(signedBefore.access_token).iss, config.issuer)
  const verifiesWith = async (pem: string, token: string) => {
    try { await jwtVerify(token, await importSPKI(pem, 'RS256'), { issuer: config.issuer, currentDate: new Date(clock.ms) }); return true } catch { return false }
  }
  t.ok(await verifiesWith(blocks[0]!, signedBefore.access_token), 'the first block is the key signing now')
  t.notOk(await verifiesWith(blocks[1]!, signedBefore.access_token), 'the second is the next one (first in the JWKS, newest first)')
  t.equal(keys.list().find(k => k.state === 'next')?.kid, jwks[0]?.kid)

  clock.advance(601)
  await keys.reload()
  const after = (await app.inject({ url: '/oauth/public-keys.pem' })).body.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----\n/g) ?? []
  const fresh = await obtainTokens(app, client.id, user.id, clock.ms)
  t.ok(await verifiesWith(after[0]!, fresh.access_token), 'after activation the new key leads')
  t.ok(await verifiesWith(after[1]!, signedBefore.access_token), 'and the retiring one follows')
})
