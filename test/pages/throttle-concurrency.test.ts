// Sign-in budgets hold under concurrency, through real HTTP on both databases: every
// password or second-factor attempt reserves its place in the account's budget before it
// is verified, so guesses sent in parallel get budget-many verifications, not one each.
import t from 'tap'
import { addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { eachDatabase } from '../helpers/db.js'
import { enrolTotp, stateOf, totpAt } from '../helpers/factors.js'
import { HttpBrowser } from '../helpers/http-browser.js'

const PARALLEL = 40
const PER_ACCOUNT = 5

function tally (statuses: number[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1
  return out
}

void eachDatabase(t, `${PARALLEL} wrong passwords at once from ${PARALLEL} addresses: ${PER_ACCOUNT} are checked, the rest wait`, async (t, databaseUrl) => {
  const { app, issuer } = await listenTestApp(t, { databaseUrl, env: { TRUST_PROXY: 'true', LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT) } })
  await addUser(app)
  // Each guess from its own address and session: only the account's budget is shared.
  const browsers = Array.from({ length: PARALLEL }, (_, i) => new HttpBrowser(issuer, `198.51.100.${i + 1}`))
  for (const b of browsers) await b.get('/login')
  const answers = await Promise.all(browsers.map(async (b, i) => (await b.post('/login', { username: 'alice', password: `wrong-${i}` })).status))
  t.same(tally(answers), { 401: PER_ACCOUNT, 429: PARALLEL - PER_ACCOUNT }, 'exactly the budget was verified; every other guess was refused unchecked')

  const owner = new HttpBrowser(issuer, '203.0.113.50')
  await owner.get('/login')
  t.equal((await owner.post('/login', { username: 'alice', password: PASSWORD })).status, 429, 'the account waits out its pause, even with the right password')
})

void eachDatabase(t, 'ten people signing in to one account at once all get in: attempts being verified do not lock it', async (t, databaseUrl) => {
  const { app, issuer } = await listenTestApp(t, { databaseUrl, env: { TRUST_PROXY: 'true', LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT) } })
  await addUser(app)
  const family = Array.from({ length: 2 * PER_ACCOUNT }, (_, i) => new HttpBrowser(issuer, `203.0.113.${i + 1}`))
  for (const b of family) await b.get('/login')
  const answers = await Promise.all(family.map(async b => (await b.post('/login', { username: 'alice', password: PASSWORD })).status))
  t.same(tally(answers), { 303: 2 * PER_ACCOUNT }, 'each right password signs in, though more than the budget were in flight together')
})

void eachDatabase(t, `${PARALLEL} wrong second-factor codes at once in one sign-in: ${PER_ACCOUNT} are checked, the rest wait`, async (t, databaseUrl) => {
  const { app, issuer, clock } = await listenTestApp(t, { databaseUrl, env: { LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT), LOGIN_LOCKOUT_SECONDS: '600' } })
  await addUser(app)
  const setup = new Browser(app)
  await setup.signIn('alice', PASSWORD)
  const { secret } = await enrolTotp(setup, clock.ms)
  clock.advance(120) // later codes must not fall in the enrolment's time step

  // The password is right (an attacker who has it); the six digits are what is guessed.
  const attacker = new HttpBrowser(issuer)
  await attacker.get('/login')
  const signIn = await attacker.post('/login', { username: 'alice', password: PASSWORD })
  t.equal(signIn.location, '/login/second-factor')
  const prompt = await attacker.follow(signIn)
  const state = stateOf(prompt.body)
  const right = totpAt(secret, clock.ms)
  const guesses = Array.from({ length: PARALLEL }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'))
  const answers = await Promise.all(guesses.map(async code => (await attacker.post('/login/second-factor', { state, code })).status))
  // The last failure inside the budget already says "paused" (429), as it always has.
  t.same(tally(answers), { 401: PER_ACCOUNT - 1, 429: PARALLEL - PER_ACCOUNT + 1 }, 'exactly the budget was verified')

  const locked = await attacker.post('/login/second-factor', { state, code: right })
  t.equal(locked.status, 429, 'even the right code waits out the pause')
})
