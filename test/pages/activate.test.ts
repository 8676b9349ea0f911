// The person's side through real HTTP: cookies, CSRF tokens, headers, messages, limits.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'

async function setup (t: Test, env: Record<string, string> = {}) {
  const ctx = await buildTestApp(t, { env })
  const client = await addClient(ctx.app, { name: 'Living Room <TV>' })
  const user = await addUser(ctx.app)
  const flow = await startDeviceFlow(ctx.app, client.id, { scope: 'openid profile offline_access' })
  return { ...ctx, client, user, flow, browser: new Browser(ctx.app) }
}

const statusOf = async (app: any) => (await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()).status

t.test('security headers on every page', async t => {
  const { browser } = await setup(t)
  const res = await browser.get('/activate')
  t.equal(res.statusCode, 200)
  const csp = String(res.headers['content-security-policy'])
  for (const d of ["default-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"]) t.match(csp, d)
  t.notMatch(csp, /unsafe-inline/)
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notMatch(res.body, /<script/i, 'no script at all')
  t.match(res.body, /<label for="user_code">/, 'the input has a label')
  const cookie = res.cookies.find(c => c.name === 'codepair')
  t.ok(cookie?.httpOnly, 'HttpOnly session cookie')
  t.equal(cookie?.sameSite, 'Lax')
})

t.test('https issuer: Secure cookie with the __Host- prefix', async t => {
  // Behind a TLS-terminating proxy (TRUST_PROXY) the request arrives as http with X-Forwarded-Proto.
  const { app } = await buildTestApp(t, { env: { ISSUER: 'https://auth.example.com', TRUST_PROXY: 'true' } })
  const res = await app.inject({ url: '/activate', headers: { 'x-forwarded-proto': 'https' } })
  const cookie = res.cookies.find(c => c.name === '__Host-codepair')
  t.ok(cookie, '__Host- cookie')
  t.ok(cookie?.secure)
  t.equal(cookie?.path, '/')
  t.equal(cookie?.domain, undefined)
  t.match(String(res.headers['strict-transport-security']), /max-age=/)
})

t.test('the whole happy path: code, sign-in, confirmation, approval', async t => {
  const { browser, flow, app } = await setup(t)
  const prefilled = await browser.get(`/activate?user_code=${flow.user_code.toLowerCase().replace('-', ' ')}`)
  t.match(prefilled.body, `value="${flow.user_code}"`, 'verification_uri_complete pre-fills the normalised code')
  t.equal(await statusOf(app), 'pending', 'a GET changes nothing')

  const entered = await browser.post('/activate', { user_code: ` ${flow.user_code.toLowerCase()} ` })
  t.equal(entered.statusCode, 303)
  t.equal(entered.headers.location, '/login', 'sign-in comes next')
  const before = browser.cookies.get('codepair')

  await browser.get('/login')
  const signed = await browser.post('/login', { username: 'Alice', password: PASSWORD })
  t.equal(signed.statusCode, 303)
  t.equal(signed.headers.location, '/activate/confirm')
  t.not(browser.cookies.get('codepair'), before, 'a new session id after sign-in')

  const confirm = await browser.follow()
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, 'Living Room &lt;TV&gt;', 'the client name, escaped')
  t.match(confirm.body, flow.user_code, 'the code to compare with the device')
  t.match(confirm.body, 'See your name and username', 'scopes in plain words')
  t.match(confirm.body, 'Stay signed in on this device')
  t.match(confirm.body, '127.0.0.1', 'where the device asked from')
  t.match(confirm.body, /Nov 23, 2026, 12:00 UTC \(just now\)/, 'when it asked')
  t.match(confirm.body, 'Only continue if you started this on your own device')
  t.equal(await statusOf(app), 'pending', 'nothing is granted before the decision')

  const decided = await browser.post('/activate/confirm', { decision: 'approve' })
  t.equal(decided.statusCode, 303, 'Post/Redirect/Get')
  t.equal(decided.headers.location, '/activate/done')
  const done = await browser.follow()
  t.equal(done.statusCode, 200)
  t.match(done.body, 'You can return to your device')
  t.equal(await statusOf(app), 'approved')
  t.match((await browser.get('/activate/done')).body, 'Device connected', 'reloading the result shows it again and changes nothing')
  t.equal((await new Browser(app).get('/activate/done')).headers.location, '/activate', 'no decision in this session: back to code entry')

  const replay = await browser.post('/activate/confirm', { decision: 'deny' })
  t.equal(replay.statusCode, 409, 'the Back button cannot change the decision')
  t.equal(await statusOf(app), 'approved')
})

t.test('a signed-in person goes straight from code to confirmation', async t => {
  const { browser, flow } = await setup(t)
  await browser.signIn('alice', PASSWORD)
  await browser.get('/activate')
  const entered = await browser.post('/activate', { user_code: flow.user_code })
  t.equal(entered.headers.location, '/activate/confirm')
})

t.test('a denied code cannot be approved by replaying the form', async t => {
  const { browser, flow, app, client } = await setup(t)
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'deny')
  t.equal(await statusOf(app), 'denied')
  const other = new Browser(app, '203.0.113.50')
  const page = await other.openConfirmation(flow.user_code, 'alice', PASSWORD)
  t.equal(page.statusCode, 410, 'the code entry refuses a decided code')
  t.match(page.body, 'This request was denied')
  t.equal(await statusOf(app), 'denied')
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'access_denied')
})

t.test('CSRF: a missing or foreign token is refused with 403 and nothing changes', async t => {
  const { browser, flow, app } = await setup(t)
  await browser.openConfirmation(flow.user_code, 'alice', PASSWORD)
  const missing = await browser.post('/activate/confirm', { decision: 'approve' }, null)
  t.equal(missing.statusCode, 403)
  t.match(missing.body, 'This form has expired')
  const stranger = new Browser(app, '198.51.100.1')
  await stranger.get('/activate')
  const foreign = await browser.post('/activate/confirm', { decision: 'approve' }, stranger.csrf)
  t.equal(foreign.statusCode, 403)
  t.equal(await statusOf(app), 'pending')
  const noSession = await app.inject({ method: 'POST', url: '/activate', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `user_code=${flow.user_code}` })
  t.equal(noSession.statusCode, 403, 'no session, no token: refused')
  const login = await new Browser(app).post('/login', { username: 'alice', password: PASSWORD }, 'forged')
  t.equal(login.statusCode, 403, 'the sign-in form is protected too')
})

t.test('unknown, malformed and expired codes get a helpful message, never a stack trace', async t => {
  const { browser, flow, clock } = await setup(t)
  await browser.get('/activate')
  const unknown = await browser.post('/activate', { user_code: 'BBBB-BBBB' })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.body, 'That code was not recognised')
  const short = await browser.post('/activate', { user_code: 'abc' })
  t.match(short.body, 'Codes have 8 letters')
  const reflected = await browser.post('/activate', { user_code: '<script>alert(1)</script>' })
  t.notMatch(reflected.body, '<script>alert(1)</script>', 'reflected input is escaped')
  t.match(reflected.body, '&lt;script&gt;')
  clock.advance(601)
  const expired = await new Browser(browser['app'], '192.0.2.99').openConfirmation(flow.user_code, 'alice', PASSWORD)
  t.equal(expired.statusCode, 410)
  t.match(expired.body, 'This code has expired')
})

t.test('sign-in: one message for unknown users and wrong passwords, lockout per account', async t => {
  const { browser, app } = await setup(t)
  const wrong = await browser.signIn('alice', 'not the password')
  const unknown = await browser.signIn('mallory', 'not the password')
  t.equal(wrong.statusCode, 401)
  t.equal(unknown.statusCode, 401)
  const msg = (b: string) => /<p class="error"[^>]*>([^<]*)</.exec(b)?.[1]
  t.equal(msg(wrong.body), 'Incorrect username or password.')
  t.equal(msg(unknown.body), msg(wrong.body), 'same message')
  for (let i = 0; i < 4; i++) await new Browser(app, `198.51.100.${i + 10}`).signIn('alice', 'nope')
  const locked = await new Browser(app, '198.51.100.99').signIn('alice', PASSWORD)
  t.equal(locked.statusCode, 429, 'locked even with the right password, from another IP')
  t.match(locked.body, /Too many failed sign-ins\. Try again after \d\d:\d\d UTC/)
})

t.test('sign-in: unknown user and wrong password take similar time', async t => {
  const { browser } = await setup(t, { LOGIN_FAILURES_PER_ACCOUNT: '1000', LOGIN_FAILURES_PER_IP: '1000' })
  const time = async (u: string) => {
    const start = process.hrtime.bigint()
    await browser.post('/login', { username: u, password: 'wrong-password' })
    return Number(process.hrtime.bigint() - start) / 1e6
  }
  await browser.get('/login')
  await time('alice'); await time('nobody') // warm-up (the dummy hash is made once)
  const known: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < 6; i++) { known.push(await time('alice')); unknown.push(await time(`nobody${i}`)) }
  const median = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0
  const ratio = median(unknown) / median(known)
  // Not a performance figure: skipping argon2 for unknown users makes this ratio ~0.03
  // (a database lookup against ~50 ms of argon2), so wide bounds still catch it while a
  // busy CI machine cannot flip the result.
  t.ok(ratio > 0.25 && ratio < 4, `an argon2 verification either way (ratio ${ratio.toFixed(2)})`)
})

t.test('sign-in throttles per IP across accounts', async t => {
  const { app } = await setup(t, { LOGIN_FAILURES_PER_IP: '3' })
  const b = new Browser(app, '198.51.100.200')
  for (let i = 0; i < 3; i++) t.equal((await b.signIn(`user${i}`, 'x')).statusCode, 401)
  t.equal((await b.signIn('alice', PASSWORD)).statusCode, 429)
  t.equal((await new Browser(app, '198.51.100.201').signIn('alice', PASSWORD)).statusCode, 303, 'other addresses are unaffected')
})

t.test('code-entry budgets: per session, per IP and global', async t => {
  t.test('per session', async t => {
    const { app, flow } = await setup(t)
    const b = new Browser(app, '203.0.113.60')
    await b.get('/activate')
    for (let i = 0; i < 5; i++) t.equal((await b.post('/activate', { user_code: 'BBBB-BBBB' })).statusCode, 400)
    const locked = await b.post('/activate', { user_code: flow.user_code })
    t.equal(locked.statusCode, 429, 'even the right code waits once the budget is spent')
    t.match(locked.body, /code entry is paused until \d\d:\d\d UTC/)
  })
  t.test('per IP, across sessions; malformed entries count', async t => {
    const { app, flow } = await setup(t)
    for (let s = 0; s < 2; s++) {
      const b = new Browser(app, '203.0.113.61')
      await b.get('/activate')
      for (let i = 0; i < 5; i++) await b.post('/activate', { user_code: s === 0 ? 'x' : 'BBBB-BBBC' })
    }
    const b = new Browser(app, '203.0.113.61')
    await b.get('/activate')
    t.equal((await b.post('/activate', { user_code: flow.user_code })).statusCode, 429)
    const elsewhere = new Browser(app, '203.0.113.62')
    await elsewhere.get('/activate')
    t.equal((await elsewhere.post('/activate', { user_code: flow.user_code })).statusCode, 303)
  })
  t.test('global (anonymous), across addresses: people are asked to sign in first; the window ends with the code lifetime', async t => {
    const { app, flow, clock } = await setup(t, { USER_CODE_FAILURES_GLOBAL: '6', USER_CODE_FAILURES_PER_IP: '5', USER_CODE_FAILURES_PER_SESSION: '5' })
    for (let i = 0; i < 6; i++) {
      const b = new Browser(app, `192.0.2.${i + 1}`)
      await b.get('/activate')
      await b.post('/activate', { user_code: 'CCCC-CCCC' })
    }
    const b = new Browser(app, '192.0.2.100')
    t.match((await b.get('/activate')).body, 'Sign in first, then enter your code', 'the page says so before anyone types')
    await b.get('/login') // that page has no form: take the sign-in form's CSRF token to post a code anyway
    const paused = await b.post('/activate', { user_code: flow.user_code })
    t.equal(paused.statusCode, 429)
    t.match(paused.body, 'Sign in first, then enter your code', 'not a dead end: signed-in people have their own budgets')
    clock.advance(601)
    const flow2 = await startDeviceFlow(app, (await app.codepair.storage.db.client.findFirstOrThrow()).id)
    t.equal((await b.post('/activate', { user_code: flow2.user_code })).statusCode, 303, 'the budget refills after the window')
  })
})

t.test('GET /activate/confirm without an activation or session redirects, changing nothing', async t => {
  const { browser, app } = await setup(t)
  const res = await browser.get('/activate/confirm')
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/activate')
  t.equal(await statusOf(app), 'pending')
  await browser.get('/login')
  t.equal((await browser.post('/activate/confirm', { decision: 'approve' })).statusCode, 409)
})

t.test('a bad decision value is a page, not a 500', async t => {
  const { browser, flow, app } = await setup(t)
  await browser.openConfirmation(flow.user_code, 'alice', PASSWORD)
  const res = await browser.post('/activate/confirm', { decision: 'maybe' })
  t.equal(res.statusCode, 400)
  t.match(res.headers['content-type'], /text\/html/)
  t.equal(await statusOf(app), 'pending')
})

t.test('sign-out ends the session', async t => {
  const { browser } = await setup(t)
  await browser.signIn('alice', PASSWORD)
  await browser.get('/activate')
  t.equal((await browser.post('/logout', {})).statusCode, 303)
  t.equal((await browser.get('/activate/confirm')).headers.location, '/activate')
  const login = await browser.get('/login')
  t.equal(login.statusCode, 200, 'the sign-in form is shown again')
})
