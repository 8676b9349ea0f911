// Extension hooks through real HTTP: every event of a device's life reaches `on` hooks
// after its change, `before` hooks veto (and fail closed), and a hook that throws or
// hangs never breaks a request.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { rotateKeys } from '../../src/admin/keys.js'
import { createUser } from '../../src/admin/users.js'
import { EVENT_TYPES, type CodepairEvent, type Hooks } from '../../src/events/types.js'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { configProblems } from '../helpers/config.js'
import { freshSqliteUrl } from '../helpers/db.js'
import { obtainTokens, poll, postForm, refresh, startDeviceFlow } from '../helpers/oauth.js'

function recorder () {
  const seen: CodepairEvent[] = []
  const on = Object.fromEntries(EVENT_TYPES.map(type => [type, (e: CodepairEvent) => { seen.push(e) }])) as Hooks['on']
  return { seen, hooks: { on } satisfies Hooks, types: () => seen.map(e => e.type) }
}

function logCapture () {
  const lines: Array<Record<string, any>> = []
  return { lines, stream: { write (line: string) { lines.push(JSON.parse(line)) } } }
}

t.test('every event of a device\'s life reaches the on hooks, with no secret in any payload', async t => {
  const rec = recorder()
  const { app, clock, config } = await buildTestApp(t, { hooks: rec.hooks, env: { USER_CODE_FAILURES_PER_SESSION: '2' } })
  const user = await addUser(app)
  const client = await addClient(app, { grantTypes: 'device_code refresh_token' })
  const { events, storage } = app.codepair
  const secrets: string[] = [PASSWORD]
  const drained = async () => { await events.drain(); return rec.types() }

  // Sign-in failure, then a whole flow through the pages.
  const browser = new Browser(app)
  await browser.signIn('alice', 'wrong password')
  t.same(await drained(), ['user.sign_in_failed'])
  t.match(rec.seen[0], { subject: 'username:alice', data: { username: 'alice', reason: 'invalid', method: 'password', ip: '203.0.113.7' } })

  const flow = await startDeviceFlow(app, client.id, { scope: 'openid profile offline_access' })
  secrets.push(flow.device_code, flow.user_code, flow.user_code.replace('-', ''))
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  const tokens = await poll(app, client.id, flow.device_code)
  t.equal(tokens.statusCode, 200)
  secrets.push(tokens.json().access_token, tokens.json().refresh_token)
  t.same((await drained()).slice(1), ['device.code_issued', 'user.signed_in', 'device.approved', 'device.tokens_issued'])
  const grantId = (rec.seen[1] as CodepairEvent<'device.code_issued'>).data.grantId
  t.match(rec.seen[1], { subject: `grant:${grantId}`, data: { clientId: client.id, scope: 'openid profile offline_access', resource: null, ip: '127.0.0.1' } })
  t.match(rec.seen[2], { subject: `user:${user.id}`, data: { user: { id: user.id, username: 'alice', email: 'alice@example.com' }, method: 'password' } })
  t.match(rec.seen[3], { subject: `grant:${grantId}`, data: { grantId, userId: user.id, ip: '203.0.113.7' } })
  t.match(rec.seen[4], { data: { grantId, userId: user.id, audience: config.defaultAudience, refreshToken: true } })
  t.ok(rec.seen.every(e => /^evt_[0-9a-f-]{36}$/.test(e.id)), 'event ids')
  t.equal(new Set(rec.seen.map(e => e.id)).size, rec.seen.length, 'unique')

  // The code comes back: reuse.
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'invalid_grant')
  t.same((await drained()).slice(5), ['device.code_reused'])

  // Refresh-token reuse after the grace window.
  const second = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid offline_access' })
  secrets.push(second.refresh_token)
  const rotated = await refresh(app, client.id, second.refresh_token)
  secrets.push(rotated.json().refresh_token)
  clock.advance(config.refreshTokenReuseGraceSeconds + 1)
  t.equal((await refresh(app, client.id, second.refresh_token)).json().error, 'invalid_grant')
  t.same((await drained()).slice(6), ['device.code_issued', 'device.tokens_issued', 'refresh.reuse_detected'])
  t.match(rec.seen.at(-1), { type: 'refresh.reuse_detected', data: { clientId: client.id, userId: user.id } })

  // RFC 7009 revocation of a refresh token ends its grant: once, not on a repeat.
  const third = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid offline_access' })
  t.equal((await postForm(app, '/oauth/revoke', { client_id: client.id, token: third.refresh_token })).statusCode, 200)
  t.equal((await postForm(app, '/oauth/revoke', { client_id: client.id, token: third.refresh_token })).statusCode, 200)
  t.same((await drained()).slice(9), ['device.code_issued', 'device.tokens_issued', 'grant.revoked'])
  t.match(rec.seen.at(-1), { data: { reason: 'revocation_endpoint', userId: user.id, clientId: client.id } })

  // The person disconnects a device on /account/devices.
  const fourth = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid offline_access' })
  secrets.push(fourth.refresh_token, fourth.access_token)
  await browser.get('/account/devices')
  const grant = /name="grant" value="([^"]+)"/.exec(browser.last!.body)?.[1]
  t.equal((await browser.post('/account/devices/disconnect', { grant: grant! })).statusCode, 303)
  t.same((await drained()).slice(12), ['device.code_issued', 'device.tokens_issued', 'grant.revoked'])
  t.match(rec.seen.at(-1), { data: { grantId: grant, reason: 'disconnected' } })

  // Denial, then sign-out.
  const denied = await startDeviceFlow(app, client.id)
  await browser.decide(denied.user_code, 'alice', PASSWORD, 'deny')
  await browser.post('/logout', {})
  t.same((await drained()).slice(15), ['device.code_issued', 'device.denied', 'user.signed_out'])
  t.match(rec.seen.at(-1), { data: { userId: user.id } })

  // Code-entry guessing: the wrong code that uses up the session's budget is reported, once.
  const guesser = new Browser(app, '198.51.100.9')
  await guesser.get('/activate')
  t.equal((await guesser.post('/activate', { user_code: 'BCDF-GHJK' })).statusCode, 400)
  t.equal((await guesser.post('/activate', { user_code: 'BCDF-GHJL' })).statusCode, 400)
  t.equal((await guesser.post('/activate', { user_code: 'BCDF-GHJM' })).statusCode, 429)
  t.same((await drained()).slice(18), ['user_code.guessing_limited'])
  t.match(rec.seen.at(-1), { subject: 'user-codes', data: { ip: '198.51.100.9', until: /^\d{4}-/ } })

  // The administration functions the CLI runs emit too.
  const bob = await createUser(storage.db, { username: 'bob', password: 'another long password' }, events)
  const before = (await storage.db.signingKey.findMany()).map(k => k.kid)
  await rotateKeys(config, storage, 0, clock.now, events)
  const added = (await storage.db.signingKey.findMany()).map(k => k.kid).filter(k => !before.includes(k))
  t.same((await drained()).slice(19), ['user.created', 'key.rotated'])
  t.match(rec.seen.at(-2), { subject: `user:${bob.id}`, data: { user: { username: 'bob' }, source: 'cli' } })
  t.equal(added.length, 1)
  t.match(rec.seen.at(-1), { subject: 'signing-keys', data: { kid: added[0], alg: 'RS256' } })

  t.same(new Set(rec.types()), new Set(EVENT_TYPES), 'every event type was seen')
  const all = JSON.stringify(rec.seen)
  for (const s of secrets) t.notOk(all.includes(s), 'no code, token or password in any event')
})

t.test('before hooks veto approval, sign-in and user creation', async t => {
  const rec = recorder()
  const vetoes: Hooks = {
    before: {
      'device.approved': e => e.data.scope.includes('offline_access') ? { veto: 'Devices that stay signed in need IT approval.' } : undefined,
      'user.signed_in': e => e.data.user.username === 'mallory' ? { veto: 'this account is suspended' } : undefined,
      'user.created': e => e.data.user.email?.endsWith('@example.com') === true ? undefined : { veto: 'only example.com addresses' }
    }
  }
  const { app } = await buildTestApp(t, { hooks: [vetoes, rec.hooks] })
  await addUser(app)
  await addUser(app, 'mallory')
  const client = await addClient(app)
  const { events, storage } = app.codepair

  const flow = await startDeviceFlow(app, client.id, { scope: 'openid offline_access' })
  const browser = new Browser(app)
  const refused = await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  t.equal(refused.statusCode, 403)
  t.match(refused.body, 'Devices that stay signed in need IT approval.')
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'authorization_pending', 'nothing changed')
  // The code is still undecided: the person can still deny it.
  t.equal((await browser.post('/activate/confirm', { decision: 'deny' })).statusCode, 303, 'Post/Redirect/Get')
  t.match((await browser.follow()).body, 'Request denied')
  const ok = await startDeviceFlow(app, client.id, { scope: 'openid' })
  t.match((await browser.decide(ok.user_code, 'alice', PASSWORD, 'approve')).body, 'Device connected', 'a scope the hook allows')
  await events.drain()
  t.same(rec.types().filter(e => e.startsWith('device.') && e !== 'device.code_issued'), ['device.denied', 'device.approved'], 'no event for the vetoed approval')

  const blocked = new Browser(app)
  const login = await blocked.signIn('mallory', PASSWORD)
  t.equal(login.statusCode, 403)
  t.match(login.body, 'You cannot sign in here: this account is suspended')
  t.equal((await blocked.get('/account/devices')).headers.location, '/login', 'no session')

  await t.rejects(createUser(storage.db, { username: 'eve', password: 'long enough password', email: 'eve@evil.test' }, events), /refused by a hook: only example.com addresses/)
  t.equal(await storage.db.user.count({ where: { username: 'eve' } }), 0)
  await events.drain()
  t.notOk(rec.types().includes('user.created'))
})

t.test('a before hook that throws or hangs refuses the change (fail closed) and is logged', async t => {
  const logs = logCapture()
  let mode: 'throw' | 'hang' = 'throw'
  const hooks: Hooks = {
    before: {
      'device.approved': async () => {
        if (mode === 'throw') throw new Error('directory unreachable')
        await new Promise(() => {})
      }
    }
  }
  const { app } = await buildTestApp(t, { hooks, env: { HOOK_TIMEOUT_MS: '200', LOG_LEVEL: 'warn' }, logStream: logs.stream })
  await addUser(app)
  const client = await addClient(app)
  for (const m of ['throw', 'hang'] as const) {
    mode = m
    const flow = await startDeviceFlow(app, client.id)
    const res = await new Browser(app).decide(flow.user_code, 'alice', PASSWORD, 'approve')
    t.equal(res.statusCode, 403, m)
    t.match(res.body, 'a check could not be completed; try again in a moment')
    t.equal((await poll(app, client.id, flow.device_code)).json().error, 'authorization_pending')
  }
  const failures = logs.lines.filter(l => l.msg === 'a before hook failed; the change is refused')
  t.equal(failures.length, 2)
  t.match(failures[0], { level: 50, type: 'device.approved', err: { message: 'directory unreachable' } })
  t.match(failures[1], { err: { message: 'the hook did not finish within 200 ms (HOOK_TIMEOUT_MS)' } })
})

t.test('an on hook that throws or hangs never breaks the request; it is logged and told to stop', async t => {
  const logs = logCapture()
  let signal: AbortSignal | undefined
  let hung = 0
  const hooks: Hooks = {
    on: {
      'device.code_issued': () => { throw new Error('chat is down') },
      'device.tokens_issued': async (_e, ctx) => {
        signal = ctx.signal
        hung++
        await new Promise(() => {})
      }
    }
  }
  const { app, clock } = await buildTestApp(t, { hooks, env: { HOOK_TIMEOUT_MS: '300', LOG_LEVEL: 'warn' }, logStream: logs.stream })
  const user = await addUser(app)
  const client = await addClient(app)
  const tokens = await obtainTokens(app, client.id, user.id, clock.ms)
  t.type(tokens.access_token, 'string', 'the device got its tokens')
  t.equal(hung, 1, 'the hook was started')
  t.notOk(signal?.aborted, 'and the response did not wait for it')
  await app.codepair.events.drain()
  t.ok(signal?.aborted, 'after HOOK_TIMEOUT_MS the hook is abandoned and its signal aborted')
  const failed = logs.lines.filter(l => l.msg === 'an event hook failed')
  t.same(failed.map(l => l.type), ['device.code_issued', 'device.tokens_issued'])
  t.match(failed[1], { err: { message: 'the hook did not finish within 300 ms (HOOK_TIMEOUT_MS)' } })
})

t.test('HOOKS_MODULE loads hooks for the packaged server; mistakes stop start-up clearly', async t => {
  const databaseUrl = freshSqliteUrl(t) // before writing the modules: it makes the test's folder afresh
  const dir = t.testdirName
  const file = join(dir, 'hooks.mjs')
  writeFileSync(file, 'export default { on: { "device.code_issued": (e) => { globalThis.__codepairHookSeen = e.data.clientId } } }\n')
  const { app } = await buildTestApp(t, { databaseUrl, env: { HOOKS_MODULE: file } })
  const client = await addClient(app)
  await startDeviceFlow(app, client.id)
  await app.codepair.events.drain()
  t.equal((globalThis as { __codepairHookSeen?: string }).__codepairHookSeen, client.id)

  t.match(configProblems({ DATABASE_URL: 'file::memory:', HOOKS_MODULE: join(dir, 'missing.mjs') }), /HOOKS_MODULE: no file at .*missing\.mjs/)
  const empty = join(dir, 'empty.mjs')
  writeFileSync(empty, 'export const nothing = 1\n')
  const broken = join(dir, 'broken.mjs')
  writeFileSync(broken, 'export default {\n')
  const typo = join(dir, 'typo.mjs')
  writeFileSync(typo, 'export const hooks = { on: { "device.aproved": () => {} } }\n')
  const veto = join(dir, 'veto.mjs')
  writeFileSync(veto, 'export const hooks = { before: { "device.denied": () => ({ veto: "no" }) } }\n')
  for (const [path, message] of [
    [empty, /must export its hooks as the default export or as `hooks`/],
    [broken, /HOOKS_MODULE: could not load .*broken\.mjs/],
    [typo, /hooks\.on: unknown event "device\.aproved"/],
    [veto, /hooks\.before: "device\.denied" cannot be vetoed/]
  ] as const) {
    await t.rejects(buildTestApp(t, { databaseUrl, env: { HOOKS_MODULE: path } }), message)
  }
})
