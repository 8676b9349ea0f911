// /account/security through real HTTP on SQLite and PostgreSQL: rename and remove with a
// fresh proof, new recovery codes, password change and "sign out everywhere"; per-client
// --require-second-factor; the operator's `codepair user factors` / `reset-factors`.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { cli } from '../helpers/cli.js'
import { eachDatabase } from '../helpers/db.js'
import { enrolTotp, stateOf, totpAt } from '../helpers/factors.js'
import { obtainTokens, refresh, startDeviceFlow } from '../helpers/oauth.js'

async function setup (t: Test, databaseUrl?: string, env: Record<string, string> = {}) {
  const ctx = await buildTestApp(t, { databaseUrl, env })
  const client = await addClient(ctx.app, { name: 'Living Room TV' })
  const user = await addUser(ctx.app)
  const browser = new Browser(ctx.app)
  await browser.signIn('alice', PASSWORD)
  return { ...ctx, client, user, browser }
}

const factorIdOf = (body: string, method: string) =>
  new RegExp(`data-method="${method}"[\\s\\S]*?name="factor" value="([^"]+)"`).exec(body)?.[1] ?? ''

eachDatabase(t, 'rename, remove with a fresh proof, and new recovery codes', async (t, databaseUrl) => {
  const { app, clock, browser, user } = await setup(t, databaseUrl)
  const { secret, recoveryCodes } = await enrolTotp(browser, clock.ms)
  const list = await browser.get('/account/security')
  const totpId = factorIdOf(list.body, 'totp')
  t.equal((await browser.post('/account/security/rename', { factor: totpId, name: 'Work phone' })).headers.location, '/account/security?notice=renamed')
  t.match((await browser.follow()).body, 'Work phone')
  t.equal((await browser.post('/account/security/rename', { factor: 'someone-elses', name: 'x' })).headers.location, '/account/security?notice=missing')

  clock.advance(301)
  const stale = await browser.post('/account/security/recovery-codes', {})
  t.equal(stale.headers.location, '/account/verify', 'new recovery codes need a fresh proof')
  const prompt = await browser.get('/account/verify')
  t.match(prompt.body, 'Before you change how you sign in')
  t.equal((await browser.post('/account/verify', { state: stateOf(prompt.body), code: recoveryCodes[0] ?? '' })).headers.location, '/account/security', 'a recovery code is a proof too')
  const fresh = await browser.post('/account/security/recovery-codes', {})
  t.equal(fresh.statusCode, 200)
  const newCodes = [...fresh.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map(m => m[1])
  t.equal(newCodes.length, 10)
  t.equal(await app.codepair.storage.db.recoveryCode.count({ where: { userId: user.id, usedAt: null } }), 10, 'the old codes are gone')

  clock.advance(301)
  t.equal((await browser.post('/account/security/remove', { factor: totpId })).headers.location, '/account/verify', 'removal needs a fresh proof')
  t.equal(await app.codepair.storage.db.secondFactor.count({ where: { userId: user.id, method: 'totp' } }), 1, 'nothing removed yet')
  const again = await browser.get('/account/verify')
  await browser.post('/account/verify', { state: stateOf(again.body), code: totpAt(secret, clock.ms) })
  t.equal((await browser.post('/account/security/remove', { factor: totpId })).headers.location, '/account/security?notice=removed')
  t.equal(await app.codepair.storage.db.secondFactor.count({ where: { userId: user.id } }), 0, 'the last factor takes the recovery codes with it')
  t.equal(await app.codepair.storage.db.recoveryCode.count({ where: { userId: user.id } }), 0)
  const types = (await app.codepair.storage.db.auditEvent.findMany({ where: { userId: user.id } })).map(a => a.type)
  for (const type of ['second_factor.added', 'second_factor.renamed', 'recovery_codes.generated', 'second_factor.used', 'second_factor.removed']) t.ok(types.includes(type), `audit: ${type}`)

  const out = new Browser(app, '198.51.100.5')
  await out.get('/login')
  t.equal((await out.post('/login', { username: 'alice', password: PASSWORD })).headers.location, '/activate', 'password alone again')
})

eachDatabase(t, 'password change: current password required; other sessions, refresh tokens and grants end', async (t, databaseUrl) => {
  const { app, clock, browser, client, user } = await setup(t, databaseUrl)
  const other = new Browser(app, '198.51.100.6')
  await other.signIn('alice', PASSWORD)
  const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'offline_access' })

  await browser.get('/account/security/password')
  const wrong = await browser.post('/account/security/password', { current: 'not my password', password: 'a brand new password', confirm: 'a brand new password' })
  t.equal(wrong.statusCode, 401)
  t.match(wrong.body, 'Your current password is not right.')
  const differ = await browser.post('/account/security/password', { current: PASSWORD, password: 'a brand new password', confirm: 'another one entirely' })
  t.equal(differ.statusCode, 400)
  const weak = await browser.post('/account/security/password', { current: PASSWORD, password: 'short', confirm: 'short' })
  t.match(weak.body, 'at least 8 characters')
  const me = async () => (await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${String(tokens.access_token)}` } })).statusCode
  t.equal(await me(), 200, 'the device works before the change')
  t.equal((await refresh(app, client.id, tokens.refresh_token)).statusCode, 200, 'nothing changed yet')

  const changed = await browser.post('/account/security/password', { current: PASSWORD, password: 'a brand new password', confirm: 'a brand new password' })
  t.equal(changed.headers.location, '/account/security?notice=password')
  t.equal((await browser.follow()).statusCode, 200, 'this session goes on')
  t.equal((await other.get('/account/security')).headers.location, '/login', 'the other session has ended')
  const refused = await refresh(app, client.id, tokens.refresh_token)
  t.equal(refused.json().error, 'invalid_grant', 'refresh tokens are revoked')
  t.equal(await me(), 401, 'the grant is revoked: its access tokens stop at once')
  const fresh = new Browser(app, '198.51.100.7')
  t.equal((await fresh.signIn('alice', PASSWORD)).statusCode, 401, 'the old password no longer works')
  t.equal((await fresh.signIn('alice', 'a brand new password')).statusCode, 303)
  t.ok(await app.codepair.storage.db.auditEvent.findFirst({ where: { type: 'password.changed', userId: user.id } }))
})

t.test('sign out everywhere ends every session, this one too', async t => {
  const { app, browser } = await setup(t)
  const other = new Browser(app, '198.51.100.8')
  await other.signIn('alice', PASSWORD)
  await browser.get('/account/security')
  t.equal((await browser.post('/account/security/sign-out-everywhere', {})).headers.location, '/login')
  t.equal((await browser.get('/account/security')).headers.location, '/login')
  t.equal((await other.get('/account/security')).headers.location, '/login')
  const anonymous = new Browser(app, '198.51.100.11')
  await anonymous.get('/activate')
  t.equal((await anonymous.post('/account/security/sign-out-everywhere', {})).headers.location, '/login', 'no session: nothing to do')
  t.equal((await browser.post('/account/security/sign-out-everywhere', {}, 'forged')).statusCode, 403, 'CSRF')
})

eachDatabase(t, 'a client registered with --require-second-factor asks for one even under REQUIRE_SECOND_FACTOR=enrolled', async (t, databaseUrl) => {
  const { app, client } = await setup(t, databaseUrl)
  const strict = await addClient(app, { name: 'Bank TV' })
  const set = await cli(databaseUrl, ['client', 'update', strict.id, '--require-second-factor', '--json'])
  t.equal(set.code, 0, set.stderr)
  t.equal(JSON.parse(set.stdout).requireSecondFactor, true)
  t.equal((await cli(databaseUrl, ['client', 'update', strict.id])).code, 2, 'nothing to change is a usage error')

  const plain = await startDeviceFlow(app, client.id)
  const b1 = new Browser(app, '198.51.100.12')
  t.match((await b1.decide(plain.user_code, 'alice', PASSWORD, 'approve')).body, 'Device connected', 'other clients: the password is enough')
  const guarded = await startDeviceFlow(app, strict.id)
  const b2 = new Browser(app, '198.51.100.13')
  const page = await b2.openConfirmation(guarded.user_code, 'alice', PASSWORD)
  t.equal(page.headers.location, '/account/security?notice=required', 'this client: set one up first')

  const unset = await cli(databaseUrl, ['client', 'update', strict.id, '--no-require-second-factor', '--json'])
  t.equal(JSON.parse(unset.stdout).requireSecondFactor, false)
  t.equal((await b2.get('/activate/confirm')).statusCode, 200, 'back to the server-wide policy')
})

eachDatabase(t, 'codepair user factors and reset-factors', async (t, databaseUrl) => {
  const { app, clock, browser } = await setup(t, databaseUrl)
  await enrolTotp(browser, clock.ms, 'Phone')
  const listed = await cli(databaseUrl, ['user', 'factors', 'Alice', '--json'])
  t.equal(listed.code, 0, listed.stderr)
  const rows = JSON.parse(listed.stdout)
  t.same(rows.map((r: any) => [r.method, r.name]), [['totp', 'Phone'], ['recovery_codes', 'Recovery codes']])
  t.equal(rows[1].remaining, 10)
  t.notMatch(listed.stdout, /secret|codeHash|enc:v1/, 'no secrets')
  const text = await cli(databaseUrl, ['user', 'factors', 'alice'])
  t.match(text.stdout, /^method +name/)
  t.equal((await cli(databaseUrl, ['user', 'factors', 'nobody'])).code, 3, 'unknown user: not found')

  const reset = await cli(databaseUrl, ['user', 'reset-factors', 'alice', '--json'])
  t.equal(reset.code, 0, reset.stderr)
  t.match(JSON.parse(reset.stdout), { username: 'alice', removed: 2, sessionsEnded: 1 })
  t.equal((await browser.get('/account/security')).headers.location, '/login', 'their sessions ended')
  const again = new Browser(app, '198.51.100.14')
  t.equal((await again.signIn('alice', PASSWORD)).headers.location, '/activate', 'password alone signs in again')
  t.ok(await app.codepair.storage.db.auditEvent.findFirst({ where: { type: 'second_factor.reset' } }))
})
