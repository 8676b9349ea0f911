// Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): rotation, reuse detection, scope, expiry.
import t from 'tap'
import { setUserPassword } from '../../src/admin/users.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { obtainTokens, refresh } from '../helpers/oauth.js'
import { sha256 } from '../../src/oauth/codes.js'

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

t.test('by default (no grace window) any rotated token presented again ends the family at once', async t => {
  const { app, client, tokens } = await setup(t)
  const a = (await refresh(app, client.id, tokens.refresh_token)).json()
  const again = await refresh(app, client.id, tokens.refresh_token)
  t.equal(again.json().error, 'invalid_grant', 'even in the same second')
  t.equal((await refresh(app, client.id, a.refresh_token)).json().error, 'invalid_grant', 'the current token is revoked with it')
})

t.test('grace window: a retry is answered only while the successor is unused, and it replaces that successor', async t => {
  const env = { REFRESH_TOKEN_REUSE_GRACE_SECONDS: '10' }
  t.test('a lost response: the retry is the one live chain, the lost answer ends the family if it ever comes back', async t => {
    const { app, client, clock, tokens } = await setup(t, env)
    const lost = (await refresh(app, client.id, tokens.refresh_token)).json()
    clock.advance(5)
    const retry = await refresh(app, client.id, tokens.refresh_token)
    t.equal(retry.statusCode, 200, 'the retry gets tokens')
    const db = app.codepair.storage.db
    t.equal(await db.refreshToken.count({ where: { revokedAt: null, rotatedAt: null } }), 1, 'one live token')
    const next = await refresh(app, client.id, retry.json().refresh_token)
    t.equal(next.statusCode, 200, 'the retry\'s answer refreshes')
    t.equal((await refresh(app, client.id, lost.refresh_token)).json().error, 'invalid_grant', 'the replaced answer is refused…')
    t.equal((await refresh(app, client.id, next.json().refresh_token)).json().error, 'invalid_grant', '…and ends the family')
  })
  t.test('a retry after the successor was used ends the family, inside the window too', async t => {
    const { app, client, clock, tokens } = await setup(t, env)
    const a = (await refresh(app, client.id, tokens.refresh_token)).json()
    const b = (await refresh(app, client.id, a.refresh_token)).json()
    clock.advance(1)
    t.equal((await refresh(app, client.id, tokens.refresh_token)).json().error, 'invalid_grant')
    t.equal((await refresh(app, client.id, b.refresh_token)).json().error, 'invalid_grant', 'the live chain is revoked')
    t.not((await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow({ where: { status: 'consumed' } })).revokedAt, null, 'and the grant')
  })
  t.test('a retry after the window ends the family', async t => {
    const { app, client, clock, tokens } = await setup(t, env)
    const a = (await refresh(app, client.id, tokens.refresh_token)).json()
    clock.advance(11)
    t.equal((await refresh(app, client.id, tokens.refresh_token)).json().error, 'invalid_grant')
    t.equal((await refresh(app, client.id, a.refresh_token)).json().error, 'invalid_grant')
  })
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

void eachDatabase(t, 'concurrent refreshes with one token and no grace window: one answer, then the family ends', async (t, databaseUrl) => {
  const { app, client, tokens } = await setup(t, {}, databaseUrl)
  const results = await Promise.all(Array.from({ length: 10 }, async () => await refresh(app, client.id, tokens.refresh_token)))
  t.equal(results.filter(r => r.statusCode === 200).length, 1, 'exactly one rotation')
  t.same(results.filter(r => r.statusCode !== 200).map(r => r.json().error), Array(9).fill('invalid_grant'))
  const db = app.codepair.storage.db
  t.equal(await db.refreshToken.count({ where: { revokedAt: null } }), 0, 'the family is revoked')
  t.not((await db.deviceAuthorization.findFirstOrThrow({ where: { status: 'consumed' } })).revokedAt, null, 'and the grant')
})

void eachDatabase(t, 'concurrent refreshes with one token inside a grace window: never more than one live token', async (t, databaseUrl) => {
  const { app, client, tokens } = await setup(t, { REFRESH_TOKEN_REUSE_GRACE_SECONDS: '10' }, databaseUrl)
  const results = await Promise.all(Array.from({ length: 10 }, async () => await refresh(app, client.id, tokens.refresh_token)))
  const answered = results.filter(r => r.statusCode === 200).map(r => r.json().refresh_token as string)
  t.ok(answered.length >= 1, `answered: ${answered.length}`)
  const db = app.codepair.storage.db
  const live = await db.refreshToken.findMany({ where: { revokedAt: null, rotatedAt: null } })
  t.ok(live.length <= 1, 'at most one live token')
  if (live.length === 1) t.ok(answered.map(sha256).includes(live[0]?.tokenHash ?? ''), 'and it is one of the answers')
})

void eachDatabase(t, 'concurrent reuse after the grace window: revoked, never a token', async (t, databaseUrl) => {
  const { app, client, tokens, clock } = await setup(t, {}, databaseUrl)
  t.equal((await refresh(app, client.id, tokens.refresh_token)).statusCode, 200)
  clock.advance(60)
  const results = await Promise.all(Array.from({ length: 10 }, async () => await refresh(app, client.id, tokens.refresh_token)))
  t.same(results.map(r => r.json().error), Array(10).fill('invalid_grant'))
  t.equal(await app.codepair.storage.db.refreshToken.count({ where: { revokedAt: null } }), 0)
})
