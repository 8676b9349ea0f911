// Second factor and passkeys end to end in Chromium (playwright-core, Debian's browser),
// with a virtual WebAuthn authenticator from the DevTools protocol (WebAuthn.enable,
// WebAuthn.addVirtualAuthenticator): a person enrols TOTP and a passkey, approves a device
// with each, signs in with the passkey alone, and recovers with a recovery code.
// The app runs on a frozen clock (TOTP codes and proofs), so the device polls once, by hand,
// after each approval (the first poll is never throttled). ISSUER is http://localhost:PORT:
// WebAuthn refuses IP addresses as relying party ids.
// Screenshots go to test-artifacts/screenshots (docs/screenshots with UPDATE_SCREENSHOTS=1).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { addClient, addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { launchChromium } from '../helpers/chromium.js'
import { idTokenClaims, totpAt } from '../helpers/factors.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-artifacts/screenshots')

// One Chromium for the file (new contexts per test).
let browser: Browser | null = null
t.before(async () => { browser = await launchChromium(t) })

/** Both tests' app: frozen clock, codes that outlive the page work, ISSUER on localhost. */
async function localhostApp (t: Test) {
  return await listenTestApp(t, { host: 'localhost', env: { DEVICE_CODE_TTL_SECONDS: '1800' } })
}

async function withAuthenticator (context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true }
  })
}

t.test('TOTP and a passkey: enrol, approve a device with each, passkey-only sign-in, recovery code', async t => {
  mkdirSync(SHOTS, { recursive: true })
  if (browser === null) return
  const { app, clock, issuer } = await localhostApp(t)
  const client = await addClient(app, { name: 'Living Room TV' })
  await addUser(app)

  /** A device flow whose approval happens in the page; returns the ID token's claims after one poll. */
  async function approveDevice (page: Page, signIn: (page: Page) => Promise<void>, shot?: string): Promise<Record<string, unknown>> {
    const flow = await startDeviceFlow(app, client.id, { scope: 'openid profile' })
    await page.goto(`${issuer}/activate?user_code=${encodeURIComponent(flow.user_code)}`)
    await page.click('button[type=submit]')
    await signIn(page)
    await page.waitForURL(/\/activate\/confirm$/)
    if (shot !== undefined) await page.screenshot({ path: join(SHOTS, shot), fullPage: true })
    await page.click('button[value=approve]')
    await page.waitForSelector('text=Device connected')
    const res = await poll(app, client.id, flow.device_code)
    t.equal(res.statusCode, 200, 'the device receives tokens')
    return idTokenClaims(res.json().id_token)
  }

  async function password (page: Page): Promise<void> {
    await page.waitForURL(/\/login$/)
    await page.fill('#username', 'alice')
    await page.fill('#password', PASSWORD)
    await page.click('form[action="/login"] button[type=submit]')
  }

  // ---- enrol TOTP, then a passkey, in one browser that has an authenticator ----
  const mine = await browser.newContext({ viewport: { width: 1024, height: 800 } })
  const page = await mine.newPage()
  await withAuthenticator(mine, page)
  await page.goto(`${issuer}/account/security`)
  await password(page)
  await page.waitForURL(/\/account\/security$/)
  await page.click('text=Add an authenticator app')
  await page.waitForSelector('.qr svg')
  await page.screenshot({ path: join(SHOTS, 'second-factor-1-totp-enrol.png'), fullPage: true })
  const secret = (await page.textContent('#totp-secret') ?? '').replace(/\s+/g, '')
  await page.fill('#code', totpAt(secret, clock.ms))
  await page.fill('#name', 'Phone')
  await page.click('text=Turn on')
  await page.waitForSelector('#recovery-codes')
  const recoveryCodes = (await page.locator('#recovery-codes li').allTextContents()).map(c => c.trim())
  t.equal(recoveryCodes.length, 10, 'ten recovery codes shown once')
  await page.click('text=I have saved them')
  await page.waitForURL(/\/account\/security\?notice=added$/)

  await page.click('text=Add a passkey')
  await page.waitForURL(/\/account\/security\/passkey$/)
  await page.fill('#name', 'This laptop')
  await page.click('#passkey-create')
  await page.waitForURL(/\/account\/security\?notice=added$/)
  t.match(await page.textContent('.factors'), 'This laptop', 'the passkey is listed')
  await page.screenshot({ path: join(SHOTS, 'second-factor-2-security.png'), fullPage: true })
  const stored = await app.codepair.storage.db.secondFactor.findFirstOrThrow({ where: { method: 'passkey' } })
  t.ok(stored.credentialId !== null && stored.publicKey !== null, 'credential id and public key stored')

  // ---- approve with TOTP (another browser, no authenticator) ----
  clock.advance(60)
  const other = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })
  const phone = await other.newPage()
  const byTotp = await approveDevice(phone, async p => {
    await password(p)
    await p.waitForURL(/\/login\/second-factor$/)
    await p.screenshot({ path: join(SHOTS, 'second-factor-3-prompt.png'), fullPage: true })
    t.equal(await p.locator('#passkey-verify').count(), 1, 'the passkey button is offered too')
    await p.fill('#code', totpAt(secret, clock.ms))
    await p.click('form:not(.passkey-form) button[type=submit]')
  })
  t.same(byTotp.amr, ['pwd', 'otp', 'mfa'])
  t.equal(byTotp.acr, 'urn:codepair:loa:2fa')

  // ---- approve with the passkey as second factor ----
  await mine.clearCookies()
  const byPasskey = await approveDevice(page, async p => {
    await password(p)
    await p.waitForURL(/\/login\/second-factor$/)
    await p.click('#passkey-verify')
  })
  t.same(byPasskey.amr, ['pwd', 'hwk', 'user', 'mfa'])
  const counter = (await app.codepair.storage.db.secondFactor.findFirstOrThrow({ where: { method: 'passkey' } })).counter
  t.ok(counter >= stored.counter, 'the signature counter was checked and kept')

  // ---- sign in with the passkey alone (usernameless) ----
  await mine.clearCookies()
  const passkeyOnly = await approveDevice(page, async p => {
    await p.waitForURL(/\/login$/)
    await p.click('text=Sign in with a passkey')
    await p.waitForURL(/\/login\/passkey$/)
    await p.click('#passkey-sign-in')
  })
  t.same(passkeyOnly.amr, ['hwk', 'user', 'mfa'], 'no password, two factors in one')

  // ---- lost phone and laptop: a recovery code ----
  clock.advance(60)
  await other.clearCookies()
  const recovered = await approveDevice(phone, async p => {
    await password(p)
    await p.waitForURL(/\/login\/second-factor$/)
    await p.fill('#code', recoveryCodes[0] ?? '')
    await p.click('form:not(.passkey-form) button[type=submit]')
  })
  t.same(recovered.amr, ['pwd', 'otp', 'mfa'])
  t.equal(await app.codepair.storage.db.recoveryCode.count({ where: { usedAt: null } }), 9, 'that code is used')
  await page.goto(`${issuer}/account/security`)
  t.match(await page.textContent('.factors'), '9 of 10 unused')
  const csp = String((await app.inject({ url: '/login/passkey' })).headers['content-security-policy'])
  t.match(csp, "script-src 'self'", 'passkey pages allow our own scripts')
  t.notMatch(csp, 'unsafe-inline')
  await mine.close()
  await other.close()
})

t.test('an operator requires a second factor for one client: the person sets one up in the page, then approves', async t => {
  if (browser === null) return
  const { app, clock, issuer } = await localhostApp(t)
  const plain = await addClient(app, { name: 'Kitchen Radio' })
  const bank = await addClient(app, { name: 'Bank TV' })
  await app.codepair.storage.clientPolicies.setRequireSecondFactor(bank.id, true) // what `client update --require-second-factor` does
  await addUser(app)
  const context = await browser.newContext({ viewport: { width: 1024, height: 800 } })
  const page = await context.newPage()

  async function enterCode (userCode: string): Promise<void> {
    await page.goto(`${issuer}/activate?user_code=${encodeURIComponent(userCode)}`)
    await page.click('button[type=submit]')
  }

  // Another client under REQUIRE_SECOND_FACTOR=enrolled: the password is enough.
  const radio = await startDeviceFlow(app, plain.id, { scope: 'openid' })
  await enterCode(radio.user_code)
  await page.waitForURL(/\/login$/)
  await page.fill('#username', 'alice')
  await page.fill('#password', PASSWORD)
  await page.click('form[action="/login"] button[type=submit]')
  await page.waitForURL(/\/activate\/confirm$/)
  await page.click('button[value=approve]')
  await page.waitForSelector('text=Device connected')
  t.equal((await poll(app, plain.id, radio.device_code)).statusCode, 200, 'the radio is connected with a password alone')

  // The bank's TV: the confirmation sends the person to set up a second factor first.
  const tv = await startDeviceFlow(app, bank.id, { scope: 'openid' })
  await enterCode(tv.user_code)
  await page.waitForURL(/\/account\/security\?notice=required$/)
  t.equal((await poll(app, bank.id, tv.device_code)).json().error, 'authorization_pending', 'nothing approved yet')
  await page.click('text=Add an authenticator app')
  await page.waitForSelector('.qr svg')
  const secret = (await page.textContent('#totp-secret') ?? '').replace(/\s+/g, '')
  await page.fill('#code', totpAt(secret, clock.ms))
  await page.fill('#name', 'Phone')
  await page.click('text=Turn on')
  await page.waitForSelector('#recovery-codes')
  await page.click('text=I have saved them')
  await page.waitForURL(/\/activate\/confirm$/)
  await page.click('button[value=approve]')
  await page.waitForSelector('text=Device connected')
  clock.advance(10) // the TV polled once already: the next poll waits its interval (RFC 8628 §3.5)
  const res = await poll(app, bank.id, tv.device_code)
  t.equal(res.statusCode, 200, 'the TV receives tokens after the second factor')
  t.same(idTokenClaims(res.json().id_token).amr, ['pwd', 'otp', 'mfa'])
  await context.close()
})
