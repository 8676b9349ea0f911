// Signing keys: persisted and encrypted; rotation keeps every live token valid.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t from 'tap'
import { listKeys, rotateKeys } from '../../src/admin/keys.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { obtainTokens } from '../helpers/oauth.js'

t.test('keys are persisted (same key after a restart) and encrypted at rest', async t => {
  const { app, config, clock } = await buildTestApp(t)
  const kid = app.codepair.keys.signingKey().kid
  const row = await app.codepair.storage.db.signingKey.findUniqueOrThrow({ where: { kid } })
  t.match(row.privateJwk, /^enc:v1:/)
  t.notMatch(row.privateJwk, /"d"/)
  await app.close()
  const again = await buildTestApp(t, { databaseUrl: config.databaseUrl, clock })
  t.equal(again.app.codepair.keys.signingKey().kid, kid)
})

t.test('ES256 and EdDSA are selectable', async t => {
  for (const alg of ['ES256', 'EdDSA']) {
    const { app, clock } = await buildTestApp(t, { env: { SIGNING_ALG: alg } })
    const client = await addClient(app)
    const user = await addUser(app)
    const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })
    t.equal(decodeProtectedHeader(tokens.access_token).alg, alg)
    t.equal((await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 200)
  }
})

t.test('rotation end to end: published before signing, old tokens verify until they expire', async t => {
  const { app, config, clock } = await buildTestApp(t, { env: { KEY_PUBLISH_SECONDS: '600', ACCESS_TOKEN_TTL_SECONDS: '3600' } })
  const client = await addClient(app)
  const user = await addUser(app)
  const me = async (token: string) => (await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode
  const jwks = async () => (await app.inject('/.well-known/jwks.json')).json().keys.map((k: any) => k.kid)
  const oldKid = app.codepair.keys.signingKey().kid
  const before = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })

  // The CLI rotates in its own process; here the same function on the same database.
  const listed = await rotateKeys(config, app.codepair.storage, undefined, clock.now)
  const fresh = listed.find(k => k.state === 'next')
  t.ok(fresh, 'the new key is "next"')
  await app.codepair.keys.reload() // what the periodic reload does
  t.same((await jwks()).sort(), [oldKid, fresh?.kid].sort(), 'published at once')
  t.equal(app.codepair.keys.signingKey().kid, oldKid, 'but not signing yet')

  clock.advance(601)
  await app.codepair.keys.reload()
  t.equal(app.codepair.keys.signingKey().kid, fresh?.kid, 'signing after KEY_PUBLISH_SECONDS')
  const after = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })
  t.equal(decodeProtectedHeader(after.access_token).kid, fresh?.kid)
  t.equal(await me(before.access_token), 200, 'a token signed before the rotation still verifies')
  t.equal(await me(after.access_token), 200)
  const remote = createLocalJWKSet((await app.inject('/.well-known/jwks.json')).json())
  await jwtVerify(before.access_token, remote, { currentDate: new Date(clock.ms) })
  t.pass('an external verifier with the JWKS accepts the old token too')

  const states = await listKeys(config, app.codepair.storage, clock.now)
  t.same(states.map(k => k.state).sort(), ['active', 'retiring'])

  clock.advance(3600 + 5 + 1) // past the old key's last token's expiry
  await app.codepair.keys.reload()
  t.same(await jwks(), [fresh?.kid], 'the old key retires once its tokens have expired')
  const later = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })
  t.equal(await me(later.access_token), 200, 'the new key goes on signing')
})

t.test('an emergency rotation (publish 0) signs at once', async t => {
  const { app, config, clock } = await buildTestApp(t)
  const old = app.codepair.keys.signingKey().kid
  await rotateKeys(config, app.codepair.storage, 0, clock.now)
  await app.codepair.keys.reload()
  t.not(app.codepair.keys.signingKey().kid, old)
})
