// RFC 7009 revocation and RFC 7662 introspection through HTTP.
import t from 'tap'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { basic, obtainTokens, postForm, refresh } from '../helpers/oauth.js'

async function setup (t: any) {
  const ctx = await buildTestApp(t)
  const device = await addClient(ctx.app)
  const api = await addClient(ctx.app, { confidential: true, name: 'Resource server' })
  const user = await addUser(ctx.app)
  const tokens = await obtainTokens(ctx.app, device.id, user.id, ctx.clock.ms, { scope: 'openid profile offline_access' })
  const introspect = async (token: string, auth = basic(api.id, api.clientSecret ?? '')) =>
    await postForm(ctx.app, '/oauth/introspect', { token }, { authorization: auth })
  const revoke = async (token: string, clientId = device.id, hint?: string) =>
    await postForm(ctx.app, '/oauth/revoke', { token, client_id: clientId, ...(hint === undefined ? {} : { token_type_hint: hint }) })
  return { ...ctx, device, api, user, tokens, introspect, revoke }
}

t.test('introspection of live tokens', async t => {
  const { tokens, introspect, device, user, clock } = await setup(t)
  const res = await introspect(tokens.access_token)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const a = res.json()
  t.match(a, { active: true, client_id: device.id, sub: user.id, username: 'alice', token_type: 'Bearer', scope: 'openid profile offline_access', iss: 'http://localhost:3000', aud: 'http://localhost:3000' })
  t.equal(a.exp, Math.floor(clock.ms / 1000) + 3600)
  const r = (await introspect(tokens.refresh_token)).json()
  t.match(r, { active: true, client_id: device.id, sub: user.id, token_type: 'refresh_token' })
})

t.test('anything invalid is exactly {"active": false}', async t => {
  const { tokens, introspect, clock } = await setup(t)
  for (const bad of ['garbage', 'a.b.c', tokens.id_token, tokens.access_token.slice(0, -4) + 'AAAA']) {
    t.same((await introspect(bad)).json(), { active: false })
  }
  clock.advance(3700)
  t.same((await introspect(tokens.access_token)).json(), { active: false }, 'expired')
})

t.test('the caller must authenticate as a confidential client', async t => {
  const { tokens, introspect, device, app } = await setup(t)
  t.equal((await postForm(app, '/oauth/introspect', { token: tokens.access_token })).statusCode, 401)
  t.equal((await postForm(app, '/oauth/introspect', { token: tokens.access_token, client_id: device.id })).statusCode, 401, 'public clients cannot introspect')
  t.equal((await introspect(tokens.access_token, basic('x', 'y'))).statusCode, 401)
  t.equal((await postForm(app, '/oauth/introspect', { client_id: device.id })).json().error, 'invalid_request', 'token is required')
})

t.test('revoking an access token makes it inactive', async t => {
  const { tokens, introspect, revoke } = await setup(t)
  const res = await revoke(tokens.access_token, undefined, 'access_token')
  t.equal(res.statusCode, 200)
  t.equal(res.body, '')
  t.same((await introspect(tokens.access_token)).json(), { active: false })
  t.equal((await introspect(tokens.refresh_token)).json().active, true, 'the refresh token is separate')
})

t.test('revoking a refresh token ends its family', async t => {
  const { tokens, introspect, revoke, app, device } = await setup(t)
  const rotated = (await refresh(app, device.id, tokens.refresh_token)).json()
  t.equal((await revoke(rotated.refresh_token, device.id, 'refresh_token')).statusCode, 200)
  t.same((await introspect(rotated.refresh_token)).json(), { active: false })
  t.equal((await refresh(app, device.id, rotated.refresh_token)).json().error, 'invalid_grant')
})

t.test('unknown tokens: 200; other clients\' tokens: refused, nothing revoked', async t => {
  const { tokens, introspect, revoke, app } = await setup(t)
  t.equal((await revoke('no-such-token')).statusCode, 200)
  t.equal((await revoke('x.y.z', undefined, 'whatever')).statusCode, 200)
  const other = await addClient(app)
  const res = await revoke(tokens.refresh_token, other.id)
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
  t.equal((await introspect(tokens.refresh_token)).json().active, true)
  t.equal((await revoke(tokens.access_token, other.id)).statusCode, 400)
  t.equal((await postForm(app, '/oauth/revoke', { token: 'x', client_id: 'nobody' })).statusCode, 401, 'the client must authenticate')
  t.equal((await app.inject({ method: 'GET', url: '/oauth/revoke' })).statusCode, 405)
})

t.test('a disabled user: tokens become inactive', async t => {
  const { tokens, introspect, app, user } = await setup(t)
  await app.codepair.storage.db.user.update({ where: { id: user.id }, data: { enabled: false } })
  t.same((await introspect(tokens.access_token)).json(), { active: false })
  t.same((await introspect(tokens.refresh_token)).json(), { active: false })
})
