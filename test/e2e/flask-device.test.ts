// A device written for flask-oauth2-devices pairs with codepair unchanged, over real HTTP
// on SQLite and PostgreSQL: it asks POST /oauth/device with nothing but
// `Authorization: basic …` (lower-case, unencoded, the library's fixture credentials),
// shows activate_link and the code, and polls authorize_link with auth_code + device_code;
// the person enters the code on /activate in Chromium, signs in and approves.
import type { Page } from 'playwright-core'
import t from 'tap'
import { createClient } from '../../src/admin/clients.js'
import { addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { launchChromium } from '../helpers/chromium.js'
import { systemClockTest } from '../helpers/clock.js'
import { eachDatabase } from '../helpers/db.js'

const browser = await launchChromium(t)

/** What the person does: the link and the code the TV shows, typed the way people type. */
async function approveOnActivatePage (page: Page, activateLink: string, userCode: string): Promise<string> {
  await page.goto(activateLink)
  await page.fill('#user_code', userCode.toLowerCase().replace('-', ' '))
  await page.click('button[type=submit]')
  await page.waitForURL(/\/login$/)
  await page.fill('#username', 'alice')
  await page.fill('#password', PASSWORD)
  await page.click('button[type=submit]')
  await page.waitForURL(/\/activate\/confirm$/)
  const shown = await page.textContent('.code-display') ?? ''
  await page.click('button[value=approve]')
  await page.waitForSelector('text=Device connected')
  return shown
}

if (browser !== null) {
  void eachDatabase(t, 'a flask-oauth2-devices device pairs unchanged', async (t, databaseUrl) => {
    const { app, issuer } = await listenTestApp(t, { env: { POLL_INTERVAL_SECONDS: '1' }, clock: systemClockTest(), databaseUrl })
    await createClient(app.codepair.storage.db, { name: 'Living Room TV', id: '12345', secret: '123456789' })
    await addUser(app)

    const authorization = `basic ${Buffer.from('12345:123456789').toString('base64')}`
    const asked = await fetch(`${issuer}/oauth/device`, { method: 'POST', headers: { authorization } })
    t.equal(asked.status, 200)
    const codes = await asked.json() as Record<string, any>
    t.equal(codes.authorize_link, `${issuer}/oauth/device/authorize`)
    t.equal(codes.activate_link, `${issuer}/activate`)
    t.type(codes.expires_in, 'number')
    t.equal(codes.interval, 1)

    const poll = async () => await fetch(codes.authorize_link, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ auth_code: codes.user_code, device_code: codes.device_code })
    })
    const first = await poll()
    t.equal(first.status, 400)
    t.equal((await first.json() as { error: string }).error, 'authorization_pending')

    const page = await browser.newPage()
    t.teardown(async () => { await page.close() })
    t.equal(await approveOnActivatePage(page, codes.activate_link, codes.user_code), codes.user_code, 'the page shows the code the TV shows')

    // The device's loop, bounded by the code's lifetime: on time, so never slowed down.
    let tokens: Record<string, any> | undefined
    const seen: string[] = []
    for (const until = Date.now() + codes.expires_in * 1000; tokens === undefined && Date.now() < until;) {
      await new Promise(resolve => setTimeout(resolve, codes.interval * 1000))
      const res = await poll()
      const body = await res.json() as Record<string, any>
      if (res.status === 200) tokens = body
      else seen.push(body.error)
    }
    t.ok(seen.every(e => e === 'authorization_pending'), `only pending before the tokens (${seen.join(', ') || 'none'})`)
    t.type(tokens?.access_token, 'string', 'the device has its tokens')
    t.equal(tokens?.token_type, 'Bearer')
    const me = await fetch(`${issuer}/api/me`, { headers: { authorization: `Bearer ${String(tokens?.access_token)}` } })
    t.equal(me.status, 200)
    t.equal((await me.json() as { client_id: string }).client_id, '12345')
    const again = await poll()
    t.equal((await again.json() as { error: string }).error, 'invalid_grant', 'and only once')
  })
}
