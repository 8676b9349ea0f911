// RFC 6750 resource protection through /api/me and a test route.
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import t from 'tap'
import { createResourceServer } from '../../src/admin/resources.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { obtainTokens, postForm, startDeviceFlow } from '../helpers/oauth.js'

async function setup (t: any) {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  app.get('/api/admin', { preHandler: app.requireScope('admin', 'profile') }, async (request) => request.identity)
  const client = await addClient(app, { scopes: 'openid profile email offline_access read write' })
  const user = await addUser(app)
  const tokens = await obtainTokens(app, client.id, user.id, ctx.clock.ms, { scope: 'openid profile' })
  const call = async (authorization?: string, url = '/api/me') =>
    await app.inject({ url, headers: authorization === undefined ? {} : { authorization } })
  return { ...ctx, client, user, tokens, call }
}

t.test('a valid token: identity and scopes', async t => {
  const { tokens, call, client, user } = await setup(t)
  const res = await call(`Bearer ${tokens.access_token}`)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { sub: user.id, client_id: client.id, scope: 'openid profile', aud: 'http://localhost:3000' })
  t.equal((await call(`bearer ${tokens.access_token}`)).statusCode, 200, 'the scheme is case-insensitive')
  t.equal((await call(`BEARER ${tokens.access_token}`)).statusCode, 200)
})

t.test('no credentials: 401 with a bare Bearer challenge', async t => {
  const { call } = await setup(t)
  const res = await call()
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="codepair"')
  t.equal((await call('Basic abc')).statusCode, 401)
})

t.test('invalid tokens: 401 error="invalid_token"', async t => {
  const { call, tokens, clock } = await setup(t)
  const expectInvalid = async (auth: string, why: string) => {
    const res = await call(auth)
    t.equal(res.statusCode, 401, why)
    t.match(res.headers['www-authenticate'], /^Bearer realm="codepair", error="invalid_token"/, why)
  }
  await expectInvalid('Bearer garbage', 'garbage')
  await expectInvalid('Bearer a b', 'malformed header')
  await expectInvalid(`Bearer ${tokens.id_token}`, 'an ID token is not an access token (typ)')
  await expectInvalid(`Bearer ${new UnsecuredJWT({ sub: 'x', client_id: 'y', scope: 'profile' }).setIssuer('http://localhost:3000').setAudience('http://localhost:3000').encode()}`, 'alg none')
  const { privateKey } = await generateKeyPair('RS256')
  const forged = await new SignJWT({ client_id: 'c', scope: 'profile', jti: 'j' }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'someone-else' })
    .setIssuer('http://localhost:3000').setAudience('http://localhost:3000').setSubject('s').setIssuedAt().setExpirationTime('1h').sign(privateKey)
  await expectInvalid(`Bearer ${forged}`, 'a key we never published')
  const other = await buildTestApp(t)
  const foreignClient = await addClient(other.app)
  const foreignUser = await addUser(other.app)
  const foreign = await obtainTokens(other.app, foreignClient.id, foreignUser.id, other.clock.ms, { scope: 'profile' })
  await expectInvalid(`Bearer ${foreign.access_token}`, "another server's token")
  clock.advance(3600 + 6)
  const expired = await call(`Bearer ${tokens.access_token}`)
  t.match(expired.headers['www-authenticate'], /error_description="the access token has expired"/)
})

t.test('a token for another API (RFC 8707 resource) is refused here and accepted by its audience', async t => {
  const { app, client, user, clock, call } = await setup(t)
  await createResourceServer(app.codepair.storage.db, { identifier: 'https://api.example.com', scopes: 'read write' })
  const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'read profile', resource: 'https://api.example.com' })
  const res = await call(`Bearer ${tokens.access_token}`)
  t.equal(res.statusCode, 401, 'wrong audience')
  const claims = await app.codepair.verifier.verify(tokens.access_token, { audience: 'https://api.example.com' })
  t.same(claims.audience, ['https://api.example.com'])
  t.same(claims.scopes, ['read', 'profile'])
})

t.test('resource indicator errors at the device authorization request', async t => {
  const { app, client } = await setup(t)
  await createResourceServer(app.codepair.storage.db, { identifier: 'https://api.example.com', scopes: 'read' })
  const da = async (extra: Record<string, string>) => (await postForm(app, '/oauth/device_authorization', { client_id: client.id, ...extra })).json()
  t.equal((await da({ resource: 'https://unknown.example.com' })).error, 'invalid_target')
  t.equal((await da({ resource: 'not a uri' })).error, 'invalid_target')
  t.equal((await da({ resource: 'https://api.example.com#frag' })).error, 'invalid_target')
  t.equal((await da({ resource: 'https://api.example.com', scope: 'write' })).error, 'invalid_scope', 'a scope the API does not accept')
  t.type((await startDeviceFlow(app, client.id, { resource: 'https://api.example.com', scope: 'read' })).device_code, 'string')
})

t.test('insufficient scope: 403 with the scope needed', async t => {
  const { call, tokens } = await setup(t)
  const res = await call(`Bearer ${tokens.access_token}`, '/api/admin')
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="codepair", error="insufficient_scope", error_description="this requires the scope admin profile", scope="admin profile"')
  t.equal(res.json().error, 'insufficient_scope')
})
