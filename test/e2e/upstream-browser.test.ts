// Upstream sign-in in a real browser (Debian's Chromium via playwright-core) against a real
// OpenID Connect provider on 127.0.0.1: the device kit starts a flow, the person opens the
// code page, chooses "Sign in with Test IdP", comes back to the confirmation page and
// approves; the device receives tokens for the account created just in time. Before
// that, while the provider is down: a clear page, and the password form still works.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DeviceClient } from '../../src/kits/device/index.js'
import { addClient, addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { launchChromium } from '../helpers/chromium.js'
import { systemClockTest } from '../helpers/clock.js'
import { freshSqliteUrl } from '../helpers/db.js'
import { createUpstreamIdp, providerEntry, providersFile } from '../helpers/upstream-idp.js'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-artifacts/screenshots')

t.test('provider down → clear page and the password still works; then sign in upstream in Chromium, approve, the device gets tokens', async t => {
  mkdirSync(SHOTS, { recursive: true })
  const browser = await launchChromium(t)
  if (browser === null) return
  const idp = await createUpstreamIdp(t)
  const ctx = await listenTestApp(t, {
    databaseUrl: freshSqliteUrl(t),
    clock: systemClockTest(),
    env: { POLL_INTERVAL_SECONDS: '1', UPSTREAM_PROVIDERS_FILE: providersFile(t, [providerEntry(idp, { displayName: 'Corp SSO', trustMfa: true })]) }
  })
  idp.redirectUri = `${ctx.issuer}/login/upstream/idp/callback`
  const client = await addClient(ctx.app, { name: 'Living Room TV' })
  await addUser(ctx.app)

  // The provider is down (not started yet).
  const other = await browser.newContext()
  const down = await other.newPage()
  await down.goto(`${ctx.issuer}/login`)
  await down.click('a.upstream-provider')
  await down.waitForSelector('text=Corp SSO is not answering')
  t.match(await down.textContent('.message'), 'Try again in a few minutes, or sign in with your username and password.')
  await down.screenshot({ path: join(SHOTS, 'upstream-1-provider-down.png'), fullPage: true })
  await down.click('text=Back to sign-in')
  await down.waitForURL(/\/login$/)
  await down.fill('#username', 'alice')
  await down.fill('#password', PASSWORD)
  await down.click('button[type=submit]')
  await down.waitForURL(/\/activate$/)
  t.pass('the password form signs alice in while the provider is down')

  // It comes back; a device is waiting.
  await idp.start()
  idp.next = { sub: 'corp-7', email: 'dana@corp.example', email_verified: true, preferred_username: 'dana', name: 'Dana Scully', amr: ['pwd', 'otp'] }
  const kit = await DeviceClient.discover({ issuer: ctx.issuer, clientId: client.id })
  const auth = await kit.start({ scope: 'openid profile' })
  const polling = kit.poll(auth)
  polling.catch(() => {}) // awaited below

  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } })
  await page.goto(auth.verificationUriComplete ?? '')
  await page.click('button[type=submit]')
  await page.waitForURL(/\/login$/)
  t.ok(await page.isVisible('#password'), 'the password form')
  const button = page.locator('a.upstream-provider')
  t.equal((await button.textContent())?.trim(), 'Sign in with Corp SSO', 'beside a button for the provider')
  await page.screenshot({ path: join(SHOTS, 'upstream-2-sign-in.png'), fullPage: true })
  await button.click()
  await page.waitForURL(/\/activate\/confirm$/)
  t.equal(await page.textContent('.code-display'), auth.userCode, 'back on the confirmation page of the same device')
  await page.screenshot({ path: join(SHOTS, 'upstream-3-confirm.png'), fullPage: true })
  await page.click('button[value=approve]')
  await page.waitForSelector('text=Device connected')
  const tokens = await polling
  const user = await ctx.app.codepair.storage.db.user.findUniqueOrThrow({ where: { username: 'dana' } })
  const claims = JSON.parse(Buffer.from(tokens.accessToken.split('.')[1] ?? '', 'base64url').toString())
  t.equal(claims.sub, user.id, 'the device holds tokens for the account created upstream')
})
