// Second factor through real HTTP on SQLite and PostgreSQL, on a frozen clock: TOTP
// enrolment, sign-in with TOTP (window edges, replay, throttle), recovery codes used once
// under concurrency, step-up timing before approval, amr/acr in the ID token, and the
// `always` policy forcing enrolment before approval.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { eachDatabase } from '../helpers/db.js'
import { enrolTotp, idTokenClaims, stateOf, totpAt } from '../helpers/factors.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'

const FAILED = 'That code did not work. Check the code and try again; each code works only once.'

async function setup (t: Test, databaseUrl?: string, env: Record<string, string> = {}) {
  const ctx = await buildTestApp(t, { databaseUrl, env })
  const client = await addClient(ctx.app, { name: 'Living Room TV' })
  const user = await addUser(ctx.app)
  return { ...ctx, client, user }
}

/** Password first; returns the second-factor page (or wherever sign-in led). */
async function passwordStep (browser: Browser) {
  await browser.get('/login')
  const res = await browser.post('/login', { username: 'alice', password: PASSWORD })
  return res.statusCode === 303 && res.headers.location === '/login/second-factor' ? await browser.follow() : res
}

async function enrolled (t: Test, databaseUrl?: string, env: Record<string, string> = {}) {
  const ctx = await setup(t, databaseUrl, env)
  const browser = new Browser(ctx.app)
  await browser.signIn('alice', PASSWORD)
  const factor = await enrolTotp(browser, ctx.clock.ms)
  // Later codes must not fall in the enrolment's time step (accepted once).
  ctx.clock.advance(120)
  return { ...ctx, ...factor }
}

eachDatabase(t, 'TOTP enrolment: QR code and key, active only after a valid code, with ten recovery codes', async (t, databaseUrl) => {
  const { app, clock, user } = await setup(t, databaseUrl)
  const browser = new Browser(app)
  await browser.signIn('alice', PASSWORD)
  const list = await browser.get('/account/security')
  t.equal(list.statusCode, 200)
  t.match(list.body, 'You sign in with your password only')
  t.notMatch(list.body, /<script/i)

  const page = await browser.post('/account/security/totp', {})
  t.equal(page.statusCode, 200)
  t.match(page.body, /<div class="qr"[^>]*><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/, 'a server-rendered SVG QR code')
  const secret = (/id="totp-secret">([^<]+)</.exec(page.body)?.[1] ?? '').replace(/\s+/g, '')
  t.match(secret, /^[A-Z2-7]{32}$/, '160-bit key as text (base32)')
  const row = await app.codepair.storage.db.secondFactor.findFirstOrThrow({ where: { userId: user.id } })
  t.equal(row.status, 'pending')
  t.ok(row.secret?.startsWith('enc:v1:'), 'the seed is sealed at rest')
  t.notMatch(row.secret ?? '', secret)

  const wrong = await browser.post('/account/security/totp/confirm', { state: stateOf(page.body), code: totpAt(secret, clock.ms, 3), name: 'Phone' })
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, 'That code did not match')
  t.equal((await app.codepair.storage.db.secondFactor.findFirstOrThrow({ where: { userId: user.id } })).status, 'pending', 'a wrong code activates nothing')

  const ok = await browser.post('/account/security/totp/confirm', { state: stateOf(wrong.body), code: totpAt(secret, clock.ms), name: 'Phone <1>' })
  t.equal(ok.statusCode, 200)
  const codes = [...ok.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map(m => m[1])
  t.equal(codes.length, 10, 'ten recovery codes, shown once')
  t.equal(new Set(codes).size, 10)
  const stored = await app.codepair.storage.db.recoveryCode.findMany({ where: { userId: user.id } })
  t.equal(stored.length, 10)
  t.notOk(stored.some(r => codes.includes(r.codeHash)), 'only their HMACs are stored')

  const after = await browser.get('/account/security')
  t.match(after.body, 'Phone &lt;1&gt;', 'the name, escaped')
  t.match(after.body, 'Authenticator app')
  t.match(after.body, '10 of 10 unused')
  const audit = await app.codepair.storage.db.auditEvent.findMany({ where: { userId: user.id }, orderBy: { at: 'asc' } })
  t.ok(audit.some(a => a.type === 'second_factor.added'), 'audited')
  t.ok(audit.some(a => a.type === 'recovery_codes.generated'))
  t.equal((await browser.post('/account/security/totp/confirm', { state: stateOf(page.body), code: totpAt(secret, clock.ms) })).headers.location,
    '/account/security?notice=expired', 'the enrolment state is used once')
})

eachDatabase(t, 'sign-in asks for the TOTP code: ±1 step, replay refused, one message for every failure', async (t, databaseUrl) => {
  const { app, clock, secret } = await enrolled(t, databaseUrl)
  const a = new Browser(app)
  const prompt = await passwordStep(a)
  t.equal(prompt.statusCode, 200)
  t.match(prompt.body, 'Confirm it is you')
  t.equal(a.cookies.size > 0, true)
  t.equal((await a.get('/account/security')).headers.location, '/login', 'not signed in before the second factor')

  await a.get('/login/second-factor')
  for (const [code, what] of [[totpAt(secret, clock.ms, -2), 'two steps old'], [totpAt(secret, clock.ms, 2), 'two steps ahead'], ['12345', 'malformed'], ['zzzzz-zzzzz', 'no such recovery code']] as const) {
    const res = await a.post('/login/second-factor', { state: stateOf(a.last?.body ?? ''), code })
    t.equal(res.statusCode, 401, what)
    t.match(res.body, FAILED, `${what}: the one message`)
  }
  const early = await a.post('/login/second-factor', { state: stateOf(a.last?.body ?? ''), code: totpAt(secret, clock.ms, -1) })
  t.equal(early.statusCode, 303, 'one step behind is accepted (clock drift)')
  t.equal(early.headers.location, '/account/security', 'on to the page that asked for sign-in')
  t.equal((await a.get('/account/security')).statusCode, 200, 'signed in')

  const b = new Browser(app, '198.51.100.2')
  await passwordStep(b)
  const replay = await b.post('/login/second-factor', { state: stateOf(b.last?.body ?? ''), code: totpAt(secret, clock.ms, -1) })
  t.equal(replay.statusCode, 401, 'the same code again is refused (RFC 6238 §5.2)')
  t.match(replay.body, FAILED)
  const ahead = await b.post('/login/second-factor', { state: stateOf(replay.body), code: totpAt(secret, clock.ms, 1) })
  t.equal(ahead.statusCode, 303, 'one step ahead is accepted')

  const c = new Browser(app, '198.51.100.3')
  await passwordStep(c)
  const older = await c.post('/login/second-factor', { state: stateOf(c.last?.body ?? ''), code: totpAt(secret, clock.ms) })
  t.equal(older.statusCode, 401, 'a code older than the last one used is refused too')
})

eachDatabase(t, 'wrong codes are throttled per account like passwords, and the pause ends', async (t, databaseUrl) => {
  const { app, clock, secret } = await enrolled(t, databaseUrl, { LOGIN_FAILURES_PER_ACCOUNT: '3', LOGIN_LOCKOUT_SECONDS: '600' })
  const a = new Browser(app)
  await passwordStep(a)
  for (let i = 0; i < 2; i++) t.equal((await a.post('/login/second-factor', { state: stateOf(a.last?.body ?? ''), code: '000000' })).statusCode, 401)
  const third = await a.post('/login/second-factor', { state: stateOf(a.last?.body ?? ''), code: '000001' })
  t.equal(third.statusCode, 429)
  t.match(third.body, 'Too many incorrect codes')
  // Another browser, another address: the budget is the account's.
  const b = new Browser(app, '198.51.100.9')
  await passwordStep(b)
  const locked = await b.post('/login/second-factor', { state: stateOf(b.last?.body ?? ''), code: totpAt(secret, clock.ms) })
  t.equal(locked.statusCode, 429, 'even the right code waits out the pause')
  clock.advance(601)
  await passwordStep(b)
  const later = await b.post('/login/second-factor', { state: stateOf(b.last?.body ?? ''), code: totpAt(secret, clock.ms) })
  t.equal(later.statusCode, 303, 'after the pause the right code works')
})

eachDatabase(t, 'recovery codes: each works once, even submitted from five browsers at once', async (t, databaseUrl) => {
  const { app, recoveryCodes } = await enrolled(t, databaseUrl, { LOGIN_FAILURES_PER_ACCOUNT: '10' })
  const code = recoveryCodes[0] ?? ''
  const browsers = Array.from({ length: 5 }, (_, i) => new Browser(app, `198.51.100.${20 + i}`))
  for (const b of browsers) await passwordStep(b)
  const results = await Promise.all(browsers.map(async b => await b.post('/login/second-factor', { state: stateOf(b.last?.body ?? ''), code: code.toUpperCase().replace('-', ' ') })))
  t.same(results.map(r => r.statusCode).sort(), [303, 401, 401, 401, 401], 'exactly one sign-in')
  const winner = browsers[results.findIndex(r => r.statusCode === 303)] as Browser
  t.match((await winner.get('/account/security')).body, '9 of 10 unused', 'the remaining count')
  const again = new Browser(app, '198.51.100.40')
  await passwordStep(again)
  t.equal((await again.post('/login/second-factor', { state: stateOf(again.last?.body ?? ''), code })).statusCode, 401, 'used is used')
  t.equal((await again.post('/login/second-factor', { state: stateOf(again.last?.body ?? ''), code: recoveryCodes[1] ?? '' })).statusCode, 303, 'another one works')
})

eachDatabase(t, 'confirmation states: used once under concurrency, bound to purpose, session and time', async (t, databaseUrl) => {
  const { app, clock, user } = await setup(t, databaseUrl)
  const { confirmations } = app.codepair
  const now = () => new Date(clock.ms)
  const token = await confirmations.request({ purpose: 'step_up', userId: user.id, subject: 'activate:x', binding: 'session-a', now: now() })
  t.equal(await confirmations.check(token, { purpose: 'step_up', binding: 'session-b', now: now() }), null, 'another session')
  t.equal(await confirmations.check(token, { purpose: 'sign_in', binding: 'session-a', now: now() }), null, 'another purpose')
  t.equal(await confirmations.check(token, { purpose: 'step_up', binding: 'session-a', subject: 'activate:y', now: now() }), null, 'another subject')
  t.ok(await confirmations.check(token, { purpose: 'step_up', binding: 'session-a', subject: 'activate:x', now: now() }), 'checking changes nothing')
  const used = await Promise.all(Array.from({ length: 12 }, async () => await confirmations.use(token, { purpose: 'step_up', binding: 'session-a', now: now() })))
  t.equal(used.filter(u => u !== null).length, 1, 'exactly one of twelve concurrent uses wins')
  t.equal(await confirmations.use(token, { purpose: 'step_up', binding: 'session-a', now: now() }), null, 'and it stays used')
  const late = await confirmations.request({ purpose: 'sign_in', userId: user.id, binding: 'session-a', now: now() })
  clock.advance(301)
  t.equal(await confirmations.use(late, { purpose: 'sign_in', binding: 'session-a', now: now() }), null, 'expired after five minutes')
  const row = await app.codepair.storage.db.confirmation.findFirstOrThrow({ where: { userId: user.id, purpose: 'sign_in' } })
  t.not(row.id, late, 'only the token\'s hash is stored')
  t.not(row.binding, 'session-a', 'and only the binding\'s hash')
})

eachDatabase(t, 'step-up: approving needs a proof no older than STEP_UP_MAX_AGE_SECONDS; the ID token carries amr and acr', async (t, databaseUrl) => {
  const { app, clock, client, secret } = await enrolled(t, databaseUrl, { DEVICE_CODE_TTL_SECONDS: '1800' })
  const flow = await startDeviceFlow(app, client.id, { scope: 'openid profile' })
  const browser = new Browser(app)
  await browser.get('/activate')
  t.equal((await browser.post('/activate', { user_code: flow.user_code })).headers.location, '/login')
  await passwordStep(browser)
  const signed = await browser.post('/login/second-factor', { state: stateOf(browser.last?.body ?? ''), code: totpAt(secret, clock.ms) })
  t.equal(signed.headers.location, '/activate/confirm')
  t.equal((await browser.follow()).statusCode, 200, 'the sign-in proof is fresh: the confirmation page at once')

  clock.advance(301)
  const stale = await browser.get('/activate/confirm')
  t.equal(stale.statusCode, 303)
  t.equal(stale.headers.location, '/account/verify', 'five minutes later the page asks again first')
  const approveStale = await browser.post('/activate/confirm', { decision: 'approve' })
  t.equal(approveStale.headers.location, '/account/verify', 'an approval with a stale proof is sent to the prompt')
  t.equal((await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()).status, 'pending', 'and approves nothing')

  const prompt = await browser.get('/account/verify')
  t.match(prompt.body, 'Before this device is connected')
  const wrong = await browser.post('/account/verify', { state: stateOf(prompt.body), code: totpAt(secret, clock.ms, -3) })
  t.equal(wrong.statusCode, 401)
  t.match(wrong.body, FAILED)
  const proven = await browser.post('/account/verify', { state: stateOf(wrong.body), code: totpAt(secret, clock.ms) })
  t.equal(proven.headers.location, '/activate/confirm')
  await browser.follow()
  clock.advance(299)
  const decided = await browser.post('/activate/confirm', { decision: 'approve' })
  t.equal(decided.headers.location, '/activate/done', 'within the window: approved')

  const tokens = (await poll(app, client.id, flow.device_code)).json()
  const claims = idTokenClaims(tokens.id_token)
  t.same([...(claims.amr as string[])].sort(), ['mfa', 'otp', 'pwd'])
  t.equal(claims.acr, 'urn:codepair:loa:2fa')
  const audit = await app.codepair.storage.db.auditEvent.findFirstOrThrow({ where: { type: 'device.approved' } })
  t.match(JSON.parse(audit.detail ?? '{}'), { amr: ['pwd', 'otp', 'mfa'] }, 'the approval records the methods')
})

t.test('without a second factor (policy enrolled) approval asks nothing more; amr pwd, acr 1fa', async t => {
  const { app, client } = await setup(t)
  const flow = await startDeviceFlow(app, client.id, { scope: 'openid' })
  const browser = new Browser(app)
  const done = await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  t.match(done.body, 'Device connected')
  const claims = idTokenClaims((await poll(app, client.id, flow.device_code)).json().id_token)
  t.same(claims.amr, ['pwd'])
  t.equal(claims.acr, 'urn:codepair:loa:1fa')
})

eachDatabase(t, 'policy always: a person without a second factor sets one up before approving, and cannot remove the last one', async (t, databaseUrl) => {
  const { app, clock, client } = await setup(t, databaseUrl, { REQUIRE_SECOND_FACTOR: 'always' })
  const flow = await startDeviceFlow(app, client.id, { scope: 'openid' })
  const browser = new Browser(app)
  const first = await browser.openConfirmation(flow.user_code, 'alice', PASSWORD)
  t.equal(first.statusCode, 303)
  t.equal(first.headers.location, '/account/security?notice=required')
  t.match((await browser.follow()).body, 'Set up a second factor before you approve a device')
  t.equal((await browser.post('/activate/confirm', { decision: 'approve' })).headers.location, '/account/security?notice=required')
  t.equal((await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()).status, 'pending', 'nothing approved without a factor')

  const page = await browser.post('/account/security/totp', {})
  const secret = (/id="totp-secret">([^<]+)</.exec(page.body)?.[1] ?? '').replace(/\s+/g, '')
  const codes = await browser.post('/account/security/totp/confirm', { state: stateOf(page.body), code: totpAt(secret, clock.ms) })
  t.match(codes.body, 'href="/activate/confirm"', 'after saving the recovery codes, back to the device')
  t.equal((await browser.get('/activate/confirm')).statusCode, 200, 'the enrolment code is a fresh proof')
  t.equal((await browser.post('/activate/confirm', { decision: 'approve' })).headers.location, '/activate/done')
  t.same(idTokenClaims((await poll(app, client.id, flow.device_code)).json().id_token).amr, ['pwd', 'otp', 'mfa'])

  const list = await browser.get('/account/security')
  const factorId = /data-method="totp"[\s\S]*?name="factor" value="([^"]+)"/.exec(list.body)?.[1] ?? ''
  const refused = await browser.post('/account/security/remove', { factor: factorId })
  t.equal(refused.headers.location, '/account/security?notice=last-factor')
  t.equal(await app.codepair.storage.db.secondFactor.count({ where: { method: 'totp', status: 'active' } }), 1, 'still there')
})
