// End to end in a real browser (Debian's Chromium driven by playwright-core): the device
// kit starts a flow, the browser opens verification_uri_complete, signs in, checks the
// code, approves or denies, and the device gets tokens or access_denied.
// Screenshots go to test-artifacts/screenshots (docs/screenshots with UPDATE_SCREENSHOTS=1).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { AccessDeniedError, DeviceClient, DeviceSession, MemoryTokenStore } from '../../src/kits/device/index.js'
import { addClient, addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { launchChromium } from '../helpers/chromium.js'
import { systemClockTest } from '../helpers/clock.js'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-artifacts/screenshots')

async function launch (t: any): Promise<Browser | null> {
  mkdirSync(SHOTS, { recursive: true })
  return await launchChromium(t)
}

async function deviceFlow (t: any) {
  const ctx = await listenTestApp(t, { env: { POLL_INTERVAL_SECONDS: '1' }, clock: systemClockTest() })
  const client = await addClient(ctx.app, { name: 'Living Room TV' })
  await addUser(ctx.app)
  const kit = await DeviceClient.discover({ issuer: ctx.issuer, clientId: client.id, userAgent: 'LivingRoomTV/2.1 (codepair device kit)' })
  const auth = await kit.start({ scope: 'openid profile offline_access' })
  const polling = kit.poll(auth)
  polling.catch(() => {}) // observed below
  return { ...ctx, kit, auth, polling }
}

async function signInAndConfirm (page: Page, url: string, userCode: string, prefix: string) {
  await page.goto(url)
  await page.screenshot({ path: join(SHOTS, `${prefix}1-enter-code.png`), fullPage: true })
  const prefilled = await page.inputValue('#user_code')
  if (prefilled !== userCode) throw new Error(`the code field holds ${prefilled}`)
  await page.click('button[type=submit]')
  await page.waitForURL(/\/login$/)
  await page.fill('#username', 'alice')
  await page.fill('#password', PASSWORD)
  await page.screenshot({ path: join(SHOTS, `${prefix}2-sign-in.png`), fullPage: true })
  await page.click('button[type=submit]')
  await page.waitForURL(/\/activate\/confirm$/)
  await page.screenshot({ path: join(SHOTS, `${prefix}3-confirm.png`), fullPage: true })
}

t.test('approve in the browser: the device receives tokens', async t => {
  const browser = await launch(t)
  if (browser === null) return
  const { auth, polling, kit, issuer } = await deviceFlow(t)
  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } })
  await signInAndConfirm(page, auth.verificationUriComplete ?? '', auth.userCode, 'desktop-')
  t.equal(await page.textContent('.code-display'), auth.userCode, 'the confirmation page shows the same code as the device')
  t.match(await page.textContent('h1'), 'Living Room TV')
  t.match(await page.textContent('.details'), 'LivingRoomTV/2.1', 'the device software is shown')
  await page.click('button[value=approve]')
  await page.waitForSelector('text=Device connected')
  await page.screenshot({ path: join(SHOTS, 'desktop-4-approved.png'), fullPage: true })
  const tokens = await polling
  t.type(tokens.accessToken, 'string')
  const session = new DeviceSession(kit, new MemoryTokenStore())
  await session.begin(tokens)
  t.equal((await session.fetch(`${issuer}/api/me`)).status, 200)

  // The person later finds the TV under "Your connected devices" and disconnects it.
  await page.click('text=Your connected devices')
  await page.waitForURL(/\/account\/devices$/)
  t.match(await page.textContent('.device'), 'LivingRoomTV/2.1')
  await page.screenshot({ path: join(SHOTS, 'desktop-5-devices.png'), fullPage: true })
  await page.click('button[aria-label="Disconnect Living Room TV"]')
  await page.waitForURL(/\/account\/devices\/disconnect\?grant=/)
  t.match(await page.textContent('h1'), 'Disconnect Living Room TV?', 'it asks first')
  await page.click('form[action="/account/devices/disconnect"] button.deny')
  await page.waitForSelector('text=The device was disconnected')
  t.equal(await page.locator('.device').count(), 0, 'no longer listed')
  await t.rejects(session.refresh(), 'the device can no longer refresh')
})

t.test('deny in the browser: the device gets access_denied', async t => {
  const browser = await launch(t)
  if (browser === null) return
  const { auth, polling } = await deviceFlow(t)
  const page = await browser.newPage()
  await signInAndConfirm(page, auth.verificationUriComplete ?? '', auth.userCode, 'deny-')
  await page.click('button[value=deny]')
  await page.waitForSelector('text=Request denied')
  await page.screenshot({ path: join(SHOTS, 'deny-4-denied.png'), fullPage: true })
  await t.rejects(polling, AccessDeniedError)
})

t.test('on a phone-sized screen', async t => {
  const browser = await launch(t)
  if (browser === null) return
  const { auth, polling } = await deviceFlow(t)
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
  const page = await context.newPage()
  await signInAndConfirm(page, auth.verificationUriComplete ?? '', auth.userCode, 'phone-')
  const width = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number)
  t.ok(width <= 390, `no horizontal scrolling (${width}px)`)
  await page.click('button[value=approve]')
  await page.waitForSelector('text=Device connected')
  t.match(page.url(), /\/activate\/done$/, 'the decision answered with a redirect (Post/Redirect/Get)')
  await page.screenshot({ path: join(SHOTS, 'phone-4-approved.png'), fullPage: true })
  t.type((await polling).accessToken, 'string')
  await page.click('text=Your connected devices')
  await page.waitForURL(/\/account\/devices$/)
  const [dt, dd] = await Promise.all([page.locator('.device dt').first().boundingBox(), page.locator('.device dd').first().boundingBox()])
  t.ok(dt !== null && dd !== null && Math.abs(dt.x - dd.x) < 2 && dd.y > dt.y, 'on a phone each label sits above its value')
  t.ok(dd !== null && dd.width > 250, `values get the card's width (${dd?.width ?? 0}px)`)
  await page.goBack()
  await page.waitForSelector('text=Device connected')
  t.match(page.url(), /\/activate\/done$/, 'Back shows the result again, no resubmission')
})
