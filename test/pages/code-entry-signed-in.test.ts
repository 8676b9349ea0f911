// RFC 8628 §5.1 without a pause for everyone: once the anonymous budget is spent (here by
// wrong codes from hundreds of addresses, each within its own budgets), people sign in
// first and enter their code against their account's budget. Through the pages over real
// HTTP, on both databases.
import t from 'tap'
import { addClient, addUser, buildTestApp, listenTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { eachDatabase } from '../helpers/db.js'
import { HttpBrowser } from '../helpers/http-browser.js'
import { form, startDeviceFlow } from '../helpers/oauth.js'
import { DEVICE_CODE_GRANT } from '../../src/oauth/grant-types.js'

/** Runs `fn` over `items`, `width` at a time (a busy 2-core machine; the point is many addresses, not a burst). */
async function inBatches<T> (items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn))
}

await eachDatabase(t, 'wrong codes from 300 addresses spend the anonymous budget; a person elsewhere signs in first and approves', async (t, databaseUrl) => {
  const { app, issuer } = await listenTestApp(t, { databaseUrl, env: { TRUST_PROXY: 'true' } })
  const client = await addClient(app, { name: 'Kitchen Radio' })
  await addUser(app)
  const flow = await startDeviceFlow(app, client.id)

  // 300 addresses, two wrong codes each: within every address and session budget (10 and 5).
  const statuses: Record<number, number> = {}
  await inBatches(Array.from({ length: 300 }, (_, i) => `10.${Math.floor(i / 200)}.${i % 200}.9`), 25, async ip => {
    const b = new HttpBrowser(issuer, ip)
    await b.get('/login') // a session and a CSRF token (once entry is paused, /activate shows no form)
    for (const code of ['BBBB-BBBB', 'CCCC-CCCC']) {
      const r = await b.post('/activate', { user_code: code })
      statuses[r.status] = (statuses[r.status] ?? 0) + 1
    }
  })
  t.same(statuses, { 400: 20, 429: 580 }, 'USER_CODE_FAILURES_GLOBAL (20) wrong codes were checked; every other entry waited for sign-in')

  const person = new HttpBrowser(issuer, '203.0.113.77')
  const start = await person.get(`/activate?user_code=${encodeURIComponent(flow.user_code)}`)
  t.equal(start.status, 200)
  t.match(start.body, 'Sign in first, then enter your code', 'the page says what to do before anyone types')
  t.match(start.body, 'codes can only be entered after signing in')
  t.match(start.body, flow.user_code, 'the code from the link is kept')
  t.notMatch(start.body, 'name="user_code"', 'no code form while anonymous entry is paused')

  const anonymous = new HttpBrowser(issuer, '203.0.113.78')
  await anonymous.get('/login')
  const typed = await anonymous.post('/activate', { user_code: flow.user_code.toLowerCase() })
  t.equal(typed.status, 429, 'a code typed anonymously is not checked')
  t.match(typed.body, 'Sign in first, then enter your code')
  t.match(typed.body, flow.user_code, 'and is kept for after sign-in')

  const login = await person.get('/login')
  t.match(login.body, 'Sign in first; then enter the code from your device.')
  const signed = await person.post('/login', { username: 'alice', password: PASSWORD })
  t.equal(signed.status, 303)
  t.equal(signed.location, '/activate', 'back to code entry')
  const entry = await person.follow(signed)
  t.equal(entry.status, 200)
  t.match(entry.body, `value="${flow.user_code}"`, 'the code is filled in')
  const entered = await person.post('/activate', { user_code: flow.user_code })
  t.equal(entered.status, 303)
  t.equal(entered.location, '/activate/confirm')
  const confirm = await person.follow(entered)
  t.match(confirm.body, 'Kitchen Radio')
  const decided = await person.post('/activate/confirm', { decision: 'approve' })
  t.equal(decided.location, '/activate/done')
  t.match((await person.follow(decided)).body, 'Device connected')

  const token = await fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: DEVICE_CODE_GRANT, client_id: client.id, device_code: flow.device_code })
  })
  t.equal(token.status, 200, 'the device gets its tokens')
  t.type((await token.json() as { access_token?: unknown }).access_token, 'string')
})

await eachDatabase(t, 'signed in, each account has its own budget, and all accounts together one more', async (t, databaseUrl) => {
  const { app } = await buildTestApp(t, { databaseUrl, env: { USER_CODE_FAILURES_PER_ACCOUNT: '5', USER_CODE_FAILURES_SIGNED_IN: '10', USER_CODE_FAILURES_PER_IP: '20' } })
  const client = await addClient(app)
  for (const name of ['alice', 'mallory', 'trudy', 'carol']) await addUser(app, name)
  const flow = await startDeviceFlow(app, client.id)

  const mallory = new Browser(app, '198.51.100.20')
  await mallory.signIn('mallory', PASSWORD)
  await mallory.get('/activate')
  for (let i = 0; i < 5; i++) t.equal((await mallory.post('/activate', { user_code: 'BBBB-BBBB' })).statusCode, 400)
  await mallory.post('/logout', {})
  const again = new Browser(app, '198.51.100.21')
  await again.signIn('mallory', PASSWORD)
  await again.get('/activate')
  const spent = await again.post('/activate', { user_code: 'BBBB-BBBB' })
  t.equal(spent.statusCode, 429, 'the account budget follows the account to a new session and address')
  t.match(spent.body, /Too many incorrect codes from your account\. For your security, code entry is paused until \d\d:\d\d UTC/)

  const alice = new Browser(app, '198.51.100.30')
  await alice.signIn('alice', PASSWORD)
  await alice.get('/activate')
  t.equal((await alice.post('/activate', { user_code: flow.user_code })).headers.location, '/activate/confirm', 'another account is unaffected')

  const trudy = new Browser(app, '198.51.100.40')
  await trudy.signIn('trudy', PASSWORD)
  await trudy.get('/activate')
  for (let i = 0; i < 5; i++) t.equal((await trudy.post('/activate', { user_code: 'CCCC-CCCC' })).statusCode, 400)
  const carol = new Browser(app, '198.51.100.50')
  await carol.signIn('carol', PASSWORD)
  await carol.get('/activate')
  const shared = await carol.post('/activate', { user_code: flow.user_code })
  t.equal(shared.statusCode, 429, 'USER_CODE_FAILURES_SIGNED_IN caps all accounts together, however many an attacker holds')
  t.match(shared.body, /Many incorrect codes have been entered on this site recently\. For everyone(&#39;|')s security, code entry is paused until/, 'it says the pause is the whole site\'s, not this person\'s doing')
  const anonymous = new Browser(app, '198.51.100.60')
  await anonymous.get('/activate')
  t.equal((await anonymous.post('/activate', { user_code: flow.user_code })).statusCode, 303, 'the anonymous budget is separate')
})
