// OpenID Connect: id_token at the token endpoint, userinfo, discovery.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t from 'tap'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { obtainTokens } from '../helpers/oauth.js'

t.test('with openid the token response has an id_token for the client', async t => {
  const { app, clock } = await buildTestApp(t)
  const client = await addClient(app)
  const user = await addUser(app)
  const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid profile email' })
  t.equal(decodeProtectedHeader(tokens.id_token).typ, 'JWT')
  const jwks = createLocalJWKSet((await app.inject('/.well-known/jwks.json')).json())
  const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: 'http://localhost:3000', audience: client.id, algorithms: ['RS256'], currentDate: new Date(clock.ms) })
  t.equal(payload.sub, user.id)
  t.equal(payload.preferred_username, 'alice')
  t.equal(payload.name, 'Alice Example')
  t.equal(payload.email, 'alice@example.com')
  t.equal(payload.auth_time, Math.floor(clock.ms / 1000))
  const none = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })
  t.equal(none.id_token, undefined, 'no openid, no id_token')
})

t.test('userinfo answers per scope', async t => {
  const { app, clock } = await buildTestApp(t)
  const client = await addClient(app)
  const user = await addUser(app)
  const full = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid profile email' })
  const get = await app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${full.access_token}` } })
  t.equal(get.statusCode, 200)
  t.same(get.json(), { sub: user.id, preferred_username: 'alice', name: 'Alice Example', email: 'alice@example.com' })
  const post = await app.inject({ method: 'POST', url: '/oauth/userinfo', headers: { authorization: `Bearer ${full.access_token}` } })
  t.same(post.json(), get.json())
  const minimal = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid' })
  t.same((await app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${minimal.access_token}` } })).json(), { sub: user.id })
  const noOpenid = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })
  const refused = await app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${noOpenid.access_token}` } })
  t.equal(refused.statusCode, 403)
  t.match(refused.headers['www-authenticate'], /error="insufficient_scope", .*scope="openid"/)
  await app.codepair.storage.db.user.update({ where: { id: user.id }, data: { enabled: false } })
  const disabled = await app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${full.access_token}` } })
  t.equal(disabled.statusCode, 401)
})

t.test('discovery documents list every endpoint', async t => {
  const { app } = await buildTestApp(t)
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const m = (await app.inject(path)).json()
    t.match(m, {
      issuer: 'http://localhost:3000',
      device_authorization_endpoint: 'http://localhost:3000/oauth/device_authorization',
      token_endpoint: 'http://localhost:3000/oauth/token',
      revocation_endpoint: 'http://localhost:3000/oauth/revoke',
      introspection_endpoint: 'http://localhost:3000/oauth/introspect',
      userinfo_endpoint: 'http://localhost:3000/oauth/userinfo',
      jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
      claims_supported: ['sub', 'preferred_username', 'name', 'email'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access']
    }, path)
  }
})
