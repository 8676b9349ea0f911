// Passkey pages' error paths through HTTP (the ceremonies themselves run in Chromium with a
// virtual authenticator: test/e2e/second-factor.test.ts): forged or malformed answers, a
// state from another session, CSP, and SECOND_FACTOR_METHODS without passkeys.
import t from 'tap'
import { addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { stateOf } from '../helpers/factors.js'

const FAILED = 'That passkey did not sign you in. Try again, or sign in with your password.'

t.test('usernameless sign-in refuses forged, malformed and foreign answers with one message, never a 500', async t => {
  const { app } = await buildTestApp(t, { env: { ISSUER: 'http://localhost:3000' } })
  await addUser(app)
  const browser = new Browser(app)
  const page = await browser.get('/login/passkey')
  t.equal(page.statusCode, 200)
  t.match(String(page.headers['content-security-policy']), "script-src 'self'", 'our scripts may run here')
  t.notMatch(String(page.headers['content-security-policy']), 'unsafe-inline')
  t.match(page.body, '<script src="/assets/passkey.js" defer></script>')
  const options = JSON.parse((/data-options="([^"]+)"/.exec(page.body)?.[1] ?? '').replaceAll('&quot;', '"'))
  t.equal(options.rpId, 'localhost', 'RP id from ISSUER')
  t.equal(options.userVerification, 'required')
  t.same(options.allowCredentials, [], 'usernameless: any discoverable credential')

  const answers = [
    'not json',
    JSON.stringify({ id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA', userHandle: 'AA' }, clientExtensionResults: {} }),
    JSON.stringify({ nothing: true }),
    'x'.repeat(15000)
  ]
  for (const response of answers) {
    const res = await browser.post('/login/passkey', { state: stateOf(browser.last?.body ?? ''), response })
    t.equal(res.statusCode, 401, response.slice(0, 20))
    t.match(res.body, FAILED)
  }
  const other = new Browser(app, '198.51.100.30')
  const foreign = await other.get('/login/passkey')
  const stolen = await browser.post('/login/passkey', { state: stateOf(foreign.body), response: answers[1] ?? '' })
  t.equal(stolen.statusCode, 400, 'a state made for another session')
  const huge = await browser.post('/login/passkey', { state: stateOf(browser.last?.body ?? ''), response: 'x'.repeat(30000) })
  t.ok(huge.statusCode >= 400 && huge.statusCode < 500, `too long: refused (${huge.statusCode}), not a 500`)
  t.equal((await browser.get('/account/security')).headers.location, '/login', 'nobody signed in')

  const script = await app.inject({ url: '/assets/simplewebauthn-browser.js' })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], 'text/javascript')
  t.match(script.body, 'SimpleWebAuthnBrowser')
  t.equal((await app.inject({ url: '/assets/passkey.js' })).statusCode, 200)
})

t.test('pages without passkeys keep a CSP that allows no script; SECOND_FACTOR_METHODS=totp,recovery_codes hides passkeys', async t => {
  const { app } = await buildTestApp(t, { env: { SECOND_FACTOR_METHODS: 'totp,recovery_codes' } })
  await addUser(app)
  const browser = new Browser(app)
  const login = await browser.get('/login')
  t.notMatch(String(login.headers['content-security-policy']), 'script-src')
  t.notMatch(login.body, 'Sign in with a passkey')
  t.equal((await browser.get('/login/passkey')).statusCode, 404, 'no passkey routes')
  await browser.signIn('alice', PASSWORD)
  const security = await browser.get('/account/security')
  t.notMatch(security.body, 'Add a passkey')
  t.match(security.body, 'Add an authenticator app')
})

t.test('the new pages speak the page language (catalogues in views/locales)', async t => {
  const { app } = await buildTestApp(t, { env: { ISSUER: 'http://localhost:3000' } })
  await addUser(app)
  const browser = new Browser(app)
  t.match((await browser.get('/login/passkey?lang=de')).body, 'Mit einem Passkey anmelden')
  await browser.signIn('alice', PASSWORD)
  const security = await browser.get('/account/security?lang=ja')
  t.match(security.body, 'サインインとセキュリティ')
  t.match(security.body, '認証アプリを追加')
  const ja = await browser.post('/account/security/totp', {})
  t.match(ja.body, '認証アプリを設定', 'the language chosen once is kept (cookie)')
})
