// /api/me names who approved the device when the token has the profile scope (and only then).
import t from 'tap'
import { setUserEnabled } from '../../src/admin/users.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { obtainTokens } from '../helpers/oauth.js'

async function setup (t: any) {
  const ctx = await buildTestApp(t)
  const client = await addClient(ctx.app, { scopes: 'openid profile email' })
  const user = await addUser(ctx.app)
  const token = async (scope: string) => (await obtainTokens(ctx.app, client.id, user.id, ctx.clock.ms, { scope })).access_token as string
  const call = async (accessToken: string) => await ctx.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } })
  const me = async (scope: string) => await call(await token(scope))
  return { ...ctx, client, user, me, token, call }
}

t.test('with profile: preferred_username and name beside the subject', async t => {
  const { me, user, client } = await setup(t)
  const res = await me('openid profile')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { sub: user.id, client_id: client.id, scope: 'openid profile', aud: 'http://localhost:3000', exp: res.json().exp, preferred_username: 'alice', name: 'Alice Example' })
  t.equal(res.headers['cache-control'], 'no-store')
})

t.test('without profile: the subject only, no name, no email', async t => {
  const { me } = await setup(t)
  const body = (await me('openid email')).json()
  t.type(body.sub, 'string')
  t.notOk('preferred_username' in body)
  t.notOk('name' in body)
  t.notOk('email' in body, '/api/me is not userinfo')
})

t.test('a disabled account: the token no longer names anyone (401 invalid_token)', async t => {
  const { app, token, call } = await setup(t)
  const accessToken = await token('profile')
  t.equal((await call(accessToken)).statusCode, 200)
  await setUserEnabled(app.codepair.storage.db, 'alice', false)
  const res = await call(accessToken)
  t.equal(res.statusCode, 401)
  t.match(String(res.headers['www-authenticate']), 'error="invalid_token"')
})
