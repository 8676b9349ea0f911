// Accessibility in Debian's Chromium: axe-core finds no WCAG 2.1 A/AA violation on any page
// state (code entry paused for anonymous visitors and for one account included), at desktop
// and phone width, in light and dark colour schemes; and a person with only a keyboard
// approves a device with Tab, typing and Enter, seeing where the focus is.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { DeviceClient } from '../../src/kits/device/index.js'
import { addClient, addUser, buildTestApp, listenTestApp, PASSWORD } from '../helpers/app.js'
import { launchChromium } from '../helpers/chromium.js'
import { systemClockTest, TestClock } from '../helpers/clock.js'
import { totpAt } from '../helpers/factors.js'
import { startDeviceFlow } from '../helpers/oauth.js'

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']
const MODES = [
  { name: 'desktop, light', viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  { name: 'desktop, dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
  { name: 'phone, light', viewport: { width: 360, height: 740 }, colorScheme: 'light' },
  { name: 'phone, dark', viewport: { width: 360, height: 740 }, colorScheme: 'dark' }
] as const

/** Every mode on the page as it stands (no reload: a reload would re-send a POST). */
async function expectNoViolations (t: Test, page: Page, state: string) {
  for (const mode of MODES) {
    await page.setViewportSize(mode.viewport)
    await page.emulateMedia({ colorScheme: mode.colorScheme })
    const result = await new AxeBuilder({ page }).withTags(TAGS).analyze()
    const found = result.violations.map(v => `${v.id} (${v.impact ?? ''}): ${v.nodes.map(n => `${n.target.join(' ')} — ${n.failureSummary ?? ''}`).join(' | ')}`)
    t.same(found, [], `${state}: no WCAG 2.1 AA violations (${mode.name})`)
    // What axe could not decide (an ARIA attribute it cannot tell is ignored, a contrast over an
    // image) would need a person to look: none is left either.
    const undecided = result.incomplete.map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(' | ')}`)
    t.same(undecided, [], `${state}: nothing left for review (${mode.name})`)
    t.ok(result.passes.length > 10, `${state}: axe ran its checks (${mode.name})`)
  }
}

async function setup (t: Test) {
  const ctx = await listenTestApp(t, { env: { POLL_INTERVAL_SECONDS: '1' }, clock: systemClockTest() })
  // billing:read has no description of its own: the confirmation shows it as it is named.
  const client = await addClient(ctx.app, { name: 'Living Room TV', scopes: 'openid profile email offline_access billing:read' })
  await addUser(ctx.app)
  const kit = await DeviceClient.discover({ issuer: ctx.issuer, clientId: client.id, userAgent: 'LivingRoomTV/2.1 (codepair device kit)' })
  return { ...ctx, kit }
}

let browser: Browser | null = null
t.before(async () => { browser = await launchChromium(t) })

async function newContext (t: Test): Promise<BrowserContext> {
  if (browser === null) throw new Error('no browser')
  const context = await browser.newContext()
  t.teardown(async () => { await context.close() })
  return context
}

async function signInWithPassword (page: Page) {
  await page.waitForURL(/\/login$/)
  await page.fill('#username', 'alice')
  await page.fill('#password', PASSWORD)
  await page.click('form[action="/login"] button[type=submit]')
}

/** The error message is tied to the field it is about, and the field is marked invalid. */
async function expectErrorOnField (t: Test, page: Page, field: string, describedBy: string) {
  t.equal(await page.getAttribute(field, 'aria-describedby'), describedBy, `the error is read with ${field}`)
  t.equal(await page.getAttribute(field, 'aria-invalid'), 'true', `${field} is marked invalid`)
}

t.test('every page state, desktop and phone, light and dark: zero violations', async t => {
  if (browser === null) return
  const { issuer, kit } = await setup(t)
  const page = await (await newContext(t)).newPage()

  await page.goto(`${issuer}/activate`)
  await expectNoViolations(t, page, 'code entry, empty')

  await page.fill('#user_code', 'BCDF-GHJK')
  await page.click('button[type=submit]')
  await page.waitForSelector('#code-error')
  await expectErrorOnField(t, page, '#user_code', 'code-error code-hint')
  await expectNoViolations(t, page, 'code entry, wrong code')

  await page.goto(`${issuer}/login`)
  await expectNoViolations(t, page, 'sign-in')
  await page.fill('#username', 'alice')
  await page.fill('#password', 'not the password')
  await page.click('button[type=submit]')
  await page.waitForSelector('#login-error')
  await expectNoViolations(t, page, 'sign-in, wrong password')

  const approved = await kit.start({ scope: 'openid profile offline_access billing:read' })
  await page.goto(approved.verificationUriComplete ?? '')
  await page.click('button[type=submit]')
  await signInWithPassword(page)
  await page.waitForURL(/\/activate\/confirm$/)
  await expectNoViolations(t, page, 'confirmation')
  await page.click('button[value=approve]')
  await page.waitForURL(/\/activate\/done$/)
  await expectNoViolations(t, page, 'approved')
  await kit.poll(approved)

  const denied = await kit.start({ scope: 'profile' })
  await page.goto(denied.verificationUriComplete ?? '')
  await page.click('button[type=submit]')
  await page.waitForURL(/\/activate\/confirm$/)
  await page.click('button[value=deny]')
  await page.waitForURL(/\/activate\/done$/)
  await expectNoViolations(t, page, 'denied')

  // A decided code entered again: the "cannot be used" page.
  await page.goto(denied.verificationUriComplete ?? '')
  await page.click('button[type=submit]')
  await page.waitForSelector('text=This code cannot be used')
  await expectNoViolations(t, page, 'code cannot be used')

  await page.goto(`${issuer}/account/devices?notice=disconnected`)
  await page.waitForSelector('.device')
  await expectNoViolations(t, page, 'your devices')
  await page.click('.device button.deny')
  await page.waitForURL(/\/account\/devices\/disconnect\?grant=/)
  await expectNoViolations(t, page, 'disconnect, asking first')

  // An expired form: the session cookie is gone when the form is sent.
  await page.goto(`${issuer}/activate`)
  await page.context().clearCookies()
  await page.fill('#user_code', 'BCDF-GHJK')
  await page.click('button[type=submit]')
  await page.waitForSelector('text=This form has expired')
  await expectNoViolations(t, page, 'error page (expired form)')

  // In Japanese, to check lang and a script with other glyph widths.
  await page.goto(`${issuer}/activate?lang=ja`)
  t.equal(await page.getAttribute('html', 'lang'), 'ja')
  await expectNoViolations(t, page, 'code entry in Japanese')
})

/** A virtual WebAuthn authenticator (DevTools protocol), as in second-factor.test.ts. */
async function withAuthenticator (context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true }
  })
}

/** A code the authenticator does not show now (nor one step either side). */
function wrongTotp (secret: string, ms: number): string {
  const near = new Set([-1, 0, 1].map(steps => totpAt(secret, ms, steps)))
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0')
    if (!near.has(code)) return code
  }
}

/** A wrong code typed into #code: the page that comes back ties the error to the field, with no violations. */
async function wrongCode (t: Test, page: Page, code: string, o: { submit: string, error: string, describedBy: string, state: string }) {
  await page.fill('#code', code)
  await page.click(o.submit)
  await page.waitForSelector(`#${o.error}`)
  await expectErrorOnField(t, page, '#code', o.describedBy)
  await expectNoViolations(t, page, o.state)
}

t.test('second factor: set-up pages, the prompts at sign-in and before approving, account pages', async t => {
  if (browser === null) return
  const clock = new TestClock()
  const { app, issuer } = await listenTestApp(t, { host: 'localhost', env: { DEVICE_CODE_TTL_SECONDS: '1800', STEP_UP_MAX_AGE_SECONDS: '60' }, clock })
  const client = await addClient(app, { name: 'Living Room TV' })
  await addUser(app)
  const context = await newContext(t)
  const page = await context.newPage()
  await withAuthenticator(context, page)

  await page.goto(`${issuer}/account/security`)
  await signInWithPassword(page)
  await page.waitForURL(/\/account\/security$/)
  await expectNoViolations(t, page, 'sign-in and security, no second factor')

  await page.click('text=Add an authenticator app')
  await page.waitForSelector('.qr svg')
  await expectNoViolations(t, page, 'authenticator app set-up')
  const secret = (await page.textContent('#totp-secret') ?? '').replace(/\s+/g, '')
  await wrongCode(t, page, wrongTotp(secret, clock.ms), { submit: 'text=Turn on', error: 'enrol-error', describedBy: 'enrol-error', state: 'authenticator app set-up, wrong code' })
  await page.fill('#code', totpAt(secret, clock.ms))
  await page.click('text=Turn on')
  await page.waitForSelector('#recovery-codes')
  await expectNoViolations(t, page, 'recovery codes')
  await page.click('text=I have saved them')
  await page.waitForURL(/\/account\/security\?notice=added$/)

  await page.click('text=Add a passkey')
  await page.waitForURL(/\/account\/security\/passkey$/)
  await page.waitForSelector('#passkey-create:not([hidden])')
  await expectNoViolations(t, page, 'passkey set-up')
  await page.click('#passkey-create')
  await page.waitForURL(/\/account\/security\?notice=added$/)
  await expectNoViolations(t, page, 'sign-in and security, three methods and a notice')

  await page.goto(`${issuer}/account/security/password`)
  await expectNoViolations(t, page, 'change password')
  await page.fill('#current', 'not the password')
  await page.fill('#password', 'a new password that is long')
  await page.fill('#confirm', 'a new password that is long')
  await page.click('form[action="/account/security/password"] button[type=submit]')
  await page.waitForSelector('#password-error')
  await expectErrorOnField(t, page, '#current', 'password-error')
  t.equal(await page.getAttribute('#password', 'aria-describedby'), null, 'not to the fields it is not about')
  await expectNoViolations(t, page, 'change password, wrong current password')

  // The prompt after the password: a code field (authenticator app or recovery code) and the passkey.
  await context.clearCookies()
  clock.advance(60)
  await page.goto(`${issuer}/login`)
  await signInWithPassword(page)
  await page.waitForURL(/\/login\/second-factor$/)
  await page.waitForSelector('#passkey-verify:not([hidden])')
  t.equal(await page.getAttribute('#code', 'autocomplete'), 'one-time-code')
  t.equal(await page.getAttribute('#code', 'inputmode'), 'text', 'recovery codes have letters: not a digits-only keyboard')
  await expectNoViolations(t, page, 'second-factor prompt at sign-in')
  await wrongCode(t, page, wrongTotp(secret, clock.ms), { submit: 'form:not(.passkey-form) button[type=submit]', error: 'factor-error', describedBy: 'factor-error code-hint', state: 'second-factor prompt, wrong code' })
  await page.fill('#code', totpAt(secret, clock.ms))
  await page.click('form:not(.passkey-form) button[type=submit]')
  await page.waitForURL(url => !url.pathname.startsWith('/login'))

  // Later than STEP_UP_MAX_AGE_SECONDS: approving a device asks again first.
  clock.advance(120)
  const flow = await startDeviceFlow(app, client.id, { scope: 'openid profile' })
  await page.goto(`${issuer}/activate?user_code=${encodeURIComponent(flow.user_code)}`)
  await page.click('button[type=submit]')
  await page.waitForURL(/\/account\/verify$/)
  t.match(await page.textContent('main'), 'Before this device is connected')
  await expectNoViolations(t, page, 'second-factor prompt before approving a device')

  await context.clearCookies()
  await page.goto(`${issuer}/login/passkey`)
  await page.waitForSelector('#passkey-sign-in:not([hidden])')
  await expectNoViolations(t, page, 'passkey sign-in')
})

t.test('too many tries: the paused code entry has no violations either', async t => {
  if (browser === null) return
  const { issuer } = await setup(t)
  const page = await (await newContext(t)).newPage()
  await page.goto(`${issuer}/activate`)
  for (let i = 0; i < 6; i++) {
    await page.fill('#user_code', 'BCDF-GHJK')
    await page.click('button[type=submit]')
    await page.waitForSelector('#code-error')
  }
  t.match(await page.textContent('#code-error'), 'Too many incorrect codes')
  await expectNoViolations(t, page, 'code entry, too many tries')
})

t.test('anonymous code entry paused: the sign-in-first page, and the account budget\'s 429', async t => {
  if (browser === null) return
  // Three wrong codes spend the anonymous budget; signed in, two spend the account's. The
  // session and address budgets are wide, so that neither is the one that refuses.
  const { app, issuer } = await listenTestApp(t, {
    env: { USER_CODE_FAILURES_GLOBAL: '3', USER_CODE_FAILURES_PER_IP: '50', USER_CODE_FAILURES_PER_SESSION: '50', USER_CODE_FAILURES_PER_ACCOUNT: '2' },
    clock: systemClockTest()
  })
  await addUser(app)
  const page = await (await newContext(t)).newPage()
  /** Sends the code form with `code` and returns the status the POST was answered with. */
  const enter = async (code: string) => {
    await page.fill('#user_code', code)
    const [response] = await Promise.all([
      page.waitForResponse(r => r.request().method() === 'POST' && new URL(r.url()).pathname === '/activate'),
      page.click('form[action="/activate"] button[type=submit]')
    ])
    await page.waitForLoadState()
    return response.status()
  }

  await page.goto(`${issuer}/activate`)
  for (let i = 0; i < 3; i++) t.equal(await enter('BCDF-GHJK'), 400, `wrong code ${i + 1}`)
  t.equal(await enter('BCDF-GHJK'), 429, 'the fourth: the anonymous budget is spent')
  await page.waitForSelector('a.button-link[href="/login"]')
  t.match(await page.textContent('h1'), 'Sign in first, then enter your code')
  t.match(await page.textContent('main'), 'Your code BCDF-GHJK will be filled in for you after you sign in.')
  t.equal(await page.locator('#user_code').count(), 0, 'no code field until signed in')
  await expectNoViolations(t, page, 'sign in first, the code refused and kept')

  // Another visitor arriving now is told before typing anything.
  const other = await (await newContext(t)).newPage()
  const arrival = await other.goto(`${issuer}/activate`)
  t.equal(arrival?.status(), 200)
  await other.waitForSelector('a.button-link[href="/login"]')
  t.notMatch(await other.textContent('main'), 'will be filled in', 'no code to keep')
  await expectNoViolations(t, other, 'sign in first, on arrival')

  await page.click('a.button-link[href="/login"]')
  await page.waitForURL(/\/login$/)
  await expectNoViolations(t, page, 'sign-in, asked for first')
  await signInWithPassword(page)
  await page.waitForURL(/\/activate$/)
  t.equal(await page.inputValue('#user_code'), 'BCDF-GHJK', 'the kept code is filled in')
  for (let i = 0; i < 2; i++) t.equal(await enter('BCDF-GHJK'), 400, `signed in, wrong code ${i + 1}`)
  t.equal(await enter('BCDF-GHJK'), 429, 'the account\'s budget is spent')
  await page.waitForSelector('#code-error')
  t.match(await page.textContent('#code-error'), 'Too many incorrect codes from your account')
  await expectErrorOnField(t, page, '#user_code', 'code-error code-hint')
  await expectNoViolations(t, page, 'code entry, the account\'s budget spent')
})

/** Tab until `selector` has the focus, checking on each stop that the focus can be seen. */
async function tabTo (t: Test, page: Page, selector: string) {
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab')
    const focus = await page.evaluate((sel: string) => {
      const el = (globalThis as any).document.activeElement
      const style = (globalThis as any).getComputedStyle(el)
      return {
        tag: el.tagName as string,
        visible: el.matches(':focus-visible') as boolean,
        outline: `${style.outlineStyle as string} ${style.outlineWidth as string}`,
        target: el.matches(sel) as boolean
      }
    }, selector)
    if (focus.tag === 'BODY') continue
    t.ok(focus.visible && !focus.outline.startsWith('none') && parseFloat(focus.outline.split(' ')[1] ?? '0') >= 2,
      `focus on ${focus.tag} is visible (outline ${focus.outline})`)
    if (focus.target) return
  }
  throw new Error(`Tab never reached ${selector}`)
}

t.test('keyboard only: Tab, typing and Enter approve a device, with the focus always visible', async t => {
  if (browser === null) return
  const { issuer, kit } = await setup(t)
  const auth = await kit.start({ scope: 'openid profile' })
  const polling = kit.poll(auth)
  polling.catch(() => {})
  const page = await (await newContext(t)).newPage()
  await page.goto(`${issuer}/activate`)
  await page.evaluate(() => { (globalThis as any).document.activeElement?.blur() }) // start from nowhere, not from autofocus
  await tabTo(t, page, '#user_code')
  await page.keyboard.type(auth.userCode.toLowerCase())
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/login$/)
  await page.evaluate(() => { (globalThis as any).document.activeElement?.blur() })
  await tabTo(t, page, '#username')
  await page.keyboard.type('alice')
  await tabTo(t, page, '#password')
  await page.keyboard.type(PASSWORD)
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/activate\/confirm$/)
  await tabTo(t, page, 'button[value=approve]')
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/activate\/done$/)
  t.match(await page.textContent('h1'), 'Device connected')
  t.type((await polling).accessToken, 'string', 'the device got its tokens')
})

t.test('the code field suits a code of letters', async t => {
  if (browser === null) return
  const { issuer } = await setup(t)
  const page = await (await newContext(t)).newPage()
  await page.goto(`${issuer}/activate`)
  const field = page.locator('#user_code')
  t.equal(await field.getAttribute('autocomplete'), 'one-time-code')
  t.equal(await field.getAttribute('inputmode'), 'text', 'a letter keyboard, not digits')
  t.equal(await field.getAttribute('autocapitalize'), 'characters')
  t.equal(await field.getAttribute('aria-describedby'), 'code-hint', 'the hint is read with the field')
  t.equal(await page.locator('label[for=user_code]').textContent(), 'Code')
})

t.test('a branded page (logo, accent, support link): zero violations in light and dark', async t => {
  if (browser === null) return
  // Not t.testdir(): the app's own fresh database calls it again, which empties it.
  const dir = mkdtempSync(join(tmpdir(), 'codepair-brand-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="14" fill="#7b1fa2"/></svg>')
  const { issuer } = await listenTestApp(t, {
    env: { BRAND_NAME: 'Acme TV', BRAND_LOGO_FILE: `${dir}/logo.svg`, BRAND_ACCENT_COLOR: '#7b1fa2', BRAND_SUPPORT_URL: 'https://help.example.com' },
    clock: systemClockTest()
  })
  const page = await (await newContext(t)).newPage()
  await page.goto(`${issuer}/activate`)
  t.ok(await page.locator('img.logo').evaluate((img: any) => img.complete && img.naturalWidth > 0), 'the logo loads under the CSP')
  await page.fill('#user_code', 'BCDF-GHJK')
  await page.click('button[type=submit]')
  await page.waitForSelector('#code-error')
  await expectNoViolations(t, page, 'branded code entry with an error')
})
