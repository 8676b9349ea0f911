// Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): rotation, reuse detection, scope, expiry.
import t from 'tap'
import { setUserPassword } from '../../src/admin/users.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { obtainTokens, refresh } from '../helpers/oauth.js'

async function setup (t: any, env: Record<string, string> = {}, databaseUrl?: string) {
  const ctx = await buildTestApp(t, { env, databaseUrl })
  const client = await addClient(ctx.app)
  const user = await addUser(ctx.app)
  const tokens = await obtainTokens(ctx.app, client.id, user.id, ctx.clock.ms, { scope: 'openid profile offline_access' })
  return { ...ctx, client, user, tokens }
}

t.test('a refresh token only with offline_access and the refresh_token grant', async t => {
  const { app, client, user, clock, tokens } = await setup(t)
  t.type(tokens.refresh_token, 'string')
  t.ok(Buffer.from(tokens.refresh_token, 'base64url').length >= 32, '256 bits')
  const stored = await app.codepair.storage.db.refreshToken.findFirstOrThrow()
  t.not(stored.tokenHash, tokens.refresh_token, 'stored hashed')
  const noOffline = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid profile' })
  t.equal(noOffline.refresh_token, undefined)
  const deviceOnly = await addClient(app, { grantTypes: 'device_code' })
  const noGrant = await obtainTokens(app, deviceOnly.id, user.id, clock.ms, { scope: 'openid offline_access' })
  t.equal(noGrant.refresh_token, undefined)
})

t.test('rotation on every use; a rotated token replayed after the grace window revokes the family and the grant', async t => {
  const { app, client, clock, tokens } = await setup(t)
  clock.advance(60)
  const first = await refresh(app, client.id, tokens.refresh_token)
  t.equal(first.statusCode, 200)
  t.equal(first.headers['cache-control'], 'no-store')
  const r1 = first.json()
  t.not(r1.refresh_token, tokens.refresh_token, 'rotated')
  t.type(r1.access_token, 'string')
  t.equal(r1.scope, 'openid profile offline_access')
  t.type(r1.id_token, 'string')

  clock.advance(60)
  const replay = await refresh(app, client.id, tokens.refresh_token)
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'invalid_grant')
  const child = await refresh(app, client.id, r1.refresh_token)
  t.equal(child.json().error, 'invalid_grant', 'the whole family is revoked')
  const grant = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow({ where: { status: 'consumed' } })
  t.not(grant.revokedAt, null, 'and the device grant')
})

t.test('a retry with the previous token inside the grace window does not revoke', async t => {
  const { app, client, clock, tokens } = await setup(t, { REFRESH_TOKEN_REUSE_GRACE_SECONDS: '10' })
  const a = (await refresh(app, client.id, tokens.refresh_token)).json()
  clock.advance(5)
  const b = await refresh(app, client.id, tokens.refresh_token)
  t.equal(b.statusCode, 200, 'the retry gets tokens')
  t.equal((await refresh(app, client.id, a.refresh_token)).statusCode, 200, 'the first answer still works')
  t.equal((await refresh(app, client.id, b.json().refresh_token)).statusCode, 200, 'and so does the second')
})

t.test('scope: narrowing works, widening is refused', async t => {
  const { app, client, tokens } = await setup(t)
  const narrow = await refresh(app, client.id, tokens.refresh_token, { scope: 'profile' })
  t.equal(narrow.statusCode, 200)
  t.equal(narrow.json().scope, 'profile')
  t.equal(narrow.json().id_token, undefined, 'no id_token without openid')
  const again = await refresh(app, client.id, narrow.json().refresh_token)
  t.equal(again.json().scope, 'openid profile offline_access', 'the grant keeps its original scope')
  const wide = await refresh(app, client.id, again.json().refresh_token, { scope: 'openid email' })
  t.equal(wide.statusCode, 400)
  t.equal(wide.json().error, 'invalid_scope')
})

t.test('idle and absolute expiry', async t => {
  const { app, client, clock, tokens } = await setup(t, { REFRESH_TOKEN_IDLE_TTL_SECONDS: '3600', REFRESH_TOKEN_TTL_SECONDS: '7200' })
  clock.advance(3000)
  const r1 = (await refresh(app, client.id, tokens.refresh_token)).json()
  clock.advance(3000)
  const r2 = await refresh(app, client.id, r1.refresh_token)
  t.equal(r2.statusCode, 200, 'each use restarts the idle timer')
  clock.advance(1300) // 7300 s after the grant: past the absolute lifetime
  const late = await refresh(app, client.id, r2.json().refresh_token)
  t.equal(late.json().error, 'invalid_grant')
  t.match(late.json().error_description, /expired/)

  const idle = await setup(t, { REFRESH_TOKEN_IDLE_TTL_SECONDS: '3600', REFRESH_TOKEN_TTL_SECONDS: '7200' })
  idle.clock.advance(3601)
  t.equal((await refresh(idle.app, idle.client.id, idle.tokens.refresh_token)).json().error, 'invalid_grant', 'idle too long')
})

t.test('errors: missing, unknown, another client, disabled user, password change', async t => {
  const { app, client, tokens, user } = await setup(t)
  t.equal((await refresh(app, client.id, '')).json().error, 'invalid_request')
  t.equal((await refresh(app, client.id, 'nope')).json().error, 'invalid_grant')
  const other = await addClient(app)
  t.equal((await refresh(app, other.id, tokens.refresh_token)).json().error, 'invalid_grant', "another client's token")
  t.equal((await refresh(app, client.id, tokens.refresh_token, { resource: 'https://elsewhere.example' })).json().error, 'invalid_target')

  await app.codepair.storage.db.user.update({ where: { id: user.id }, data: { enabled: false } })
  t.equal((await refresh(app, client.id, tokens.refresh_token)).json().error, 'invalid_grant', 'disabled user')
  await app.codepair.storage.db.user.update({ where: { id: user.id }, data: { enabled: true } })
  await setUserPassword(app.codepair.storage.db, 'alice', 'an entirely new password')
  t.equal((await refresh(app, client.id, tokens.refresh_token)).json().error, 'invalid_grant', 'a password change revokes refresh tokens')
})

void eachDatabase(t, 'concurrent refreshes with one token: one rotation, no revocation', async (t, databaseUrl) => {
  const { app, client, tokens } = await setup(t, {}, databaseUrl)
  const results = await Promise.all(Array.from({ length: 10 }, async () => await refresh(app, client.id, tokens.refresh_token)))
  t.same(results.map(r => r.statusCode), Array(10).fill(200), 'every retry inside the grace window is answered')
  const db = app.codepair.storage.db
  t.equal(await db.refreshToken.count({ where: { revokedAt: { not: null } } }), 0, 'nothing revoked')
  const original = await db.refreshToken.findFirstOrThrow({ where: { rotatedAt: { not: null } } })
  t.equal(await db.refreshToken.count({ where: { rotatedAt: { not: null } } }), 1, 'rotated exactly once')
  t.equal(await db.refreshToken.count({ where: { familyId: original.familyId } }), 11, 'ten children in one family')
})

void eachDatabase(t, 'concurrent reuse after the grace window: revoked, never a token', async (t, databaseUrl) => {
  const { app, client, tokens, clock } = await setup(t, {}, databaseUrl)
  t.equal((await refresh(app, client.id, tokens.refresh_token)).statusCode, 200)
  clock.advance(60)
  const results = await Promise.all(Array.from({ length: 10 }, async () => await refresh(app, client.id, tokens.refresh_token)))
  t.same(results.map(r => r.json().error), Array(10).fill('invalid_grant'))
  t.equal(await app.codepair.storage.db.refreshToken.count({ where: { revokedAt: null } }), 0)
})
