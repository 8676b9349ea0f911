// "Your devices" through real HTTP: a person sees only their own connected devices and
// disconnecting one ends its refresh tokens at once; CSRF and ownership are enforced.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { eachDatabase } from '../helpers/db.js'
import { obtainTokens, poll, postForm, refresh, startDeviceFlow } from '../helpers/oauth.js'

async function setup (t: Test, databaseUrl?: string) {
  const ctx = await buildTestApp(t, { databaseUrl, env: { ACCESS_TOKEN_TTL_SECONDS: '600' } })
  const tv = await addClient(ctx.app, { name: 'Living Room <TV>' })
  const radio = await addClient(ctx.app, { name: 'Kitchen Radio' })
  const alice = await addUser(ctx.app, 'alice')
  const bob = await addUser(ctx.app, 'bob')
  const { app, clock } = ctx
  const tvTokens = await obtainTokens(app, tv.id, alice.id, clock.ms, { scope: 'profile offline_access' })
  clock.advance(60)
  const radioTokens = await obtainTokens(app, radio.id, alice.id, clock.ms, { scope: 'profile' })
  const bobTokens = await obtainTokens(app, tv.id, bob.id, clock.ms, { scope: 'offline_access' })
  const grantOf = async (userId: string, clientId: string) =>
    (await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow({ where: { userId, clientId } })).id
  return { ...ctx, tv, radio, alice, bob, tvTokens, radioTokens, bobTokens, grantOf }
}

async function signedIn (app: any, username: string) {
  const browser = new Browser(app)
  await browser.signIn(username, PASSWORD)
  return browser
}

t.test('signing in from the devices page comes back to it', async t => {
  const { app } = await setup(t)
  const browser = new Browser(app)
  const first = await browser.get('/account/devices')
  t.equal(first.statusCode, 303)
  t.equal(first.headers.location, '/login')
  const login = await browser.follow()
  t.match(login.body, 'Sign in to see the devices connected to your account.')
  const signed = await browser.post('/login', { username: 'alice', password: PASSWORD })
  t.equal(signed.statusCode, 303)
  t.equal(signed.headers.location, '/account/devices')
  t.equal((await browser.follow()).statusCode, 200)
  const again = await browser.get('/login')
  t.equal(again.headers.location, '/activate', 'the return trip is used once')
})

t.test('lists only this person\'s devices, newest first, escaped, with what each can do', async t => {
  const { app, clock, tv, tvTokens } = await setup(t)
  clock.advance(120)
  const rotated = await refresh(app, tv.id, tvTokens.refresh_token)
  t.equal(rotated.statusCode, 200)

  const page = await (await signedIn(app, 'alice')).get('/account/devices')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.notMatch(page.body, /<script/i)
  const items = page.body.split('<li class="device">').slice(1)
  t.equal(items.length, 2, 'the TV and the radio, not Bob\'s TV')
  t.match(items[0], 'Living Room &lt;TV&gt;', 'the refreshed TV was active last, so it comes first')
  t.match(items[0], /Connected<\/dt><dd>Nov 23, 2026, 12:00 UTC \(3 minutes ago\)/)
  t.match(items[0], /Last active<\/dt><dd>Nov 23, 2026, 12:03 UTC \(just now\)/)
  t.match(items[0], /Access<\/dt><dd>Until you disconnect it/, 'plain words: a refresh token keeps it connected')
  t.match(items[0], 'See your name and username')
  t.match(items[1], 'Kitchen Radio')
  t.match(items[1], /Access<\/dt><dd>Ends in about 8 minutes; it cannot be renewed/, 'an access token only: when it ends')
  t.match(items[1], '127.0.0.1', 'where the device asked from')
  t.match(page.body, 'aria-label="Disconnect Kitchen Radio"', 'each button says what it disconnects')
  t.match(page.body, 'Signed in as alice.')
})

t.test('disconnecting ends the device\'s refresh tokens at once and says so', async t => {
  const { app, tv, alice, tvTokens, grantOf } = await setup(t)
  const browser = await signedIn(app, 'alice')
  const list = await browser.get('/account/devices')
  const grant = await grantOf(alice.id, tv.id)
  t.match(list.body, `<form method="get" action="/account/devices/disconnect">\n      <input type="hidden" name="grant" value="${grant}">`, 'the list\'s button only leads to a question')
  const ask = await browser.get(`/account/devices/disconnect?grant=${grant}`)
  t.equal(ask.statusCode, 200)
  t.match(ask.body, 'Disconnect Living Room &lt;TV&gt;?')
  t.match(ask.body, 'Keep it')
  const stillWorks = await refresh(app, tv.id, tvTokens.refresh_token)
  t.equal(stillWorks.statusCode, 200, 'asking changed nothing')
  const res = await browser.post('/account/devices/disconnect', { grant })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/account/devices?notice=disconnected')
  const page = await browser.follow()
  t.match(page.body, 'The device was disconnected')
  t.notMatch(page.body, 'Living Room', 'no longer listed')
  t.match(page.body, 'Kitchen Radio')

  const refused = await refresh(app, tv.id, stillWorks.json().refresh_token)
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().error, 'invalid_grant', 'the device can no longer refresh')
  const audit = await app.codepair.storage.db.auditEvent.findFirst({ where: { type: 'device.disconnected', userId: alice.id } })
  t.ok(audit, 'the disconnection is audited')

  const twice = await browser.post('/account/devices/disconnect', { grant })
  t.equal(twice.headers.location, '/account/devices?notice=missing', 'a second disconnect finds nothing, and says so after a redirect')
  t.match((await browser.follow()).body, 'That device is not connected to your account')
  t.equal((await browser.get(`/account/devices/disconnect?grant=${grant}`)).headers.location, '/account/devices?notice=missing', 'nothing to ask about')
})

t.test('a foreign grant id, a missing CSRF token or no session change nothing', async t => {
  const { app, tv, bob, bobTokens, grantOf } = await setup(t)
  const bobsGrant = await grantOf(bob.id, tv.id)
  const alice = await signedIn(app, 'alice')
  await alice.get('/account/devices')
  t.equal((await alice.get(`/account/devices/disconnect?grant=${bobsGrant}`)).headers.location, '/account/devices?notice=missing', 'someone else\'s device: no question page')
  const foreign = await alice.post('/account/devices/disconnect', { grant: bobsGrant })
  t.equal(foreign.headers.location, '/account/devices?notice=missing')
  t.match((await alice.follow()).body, 'That device is not connected to your account')

  const bobBrowser = await signedIn(app, 'bob')
  await bobBrowser.get('/account/devices')
  t.equal((await bobBrowser.post('/account/devices/disconnect', { grant: bobsGrant }, null)).statusCode, 403, 'no CSRF token')
  t.equal((await bobBrowser.post('/account/devices/disconnect', { grant: bobsGrant }, 'forged')).statusCode, 403, 'a foreign CSRF token')
  const anonymous = new Browser(app)
  await anonymous.get('/activate')
  const anon = await anonymous.post('/account/devices/disconnect', { grant: bobsGrant })
  t.equal(anon.statusCode, 303, 'no session: sign in first')
  t.equal(anon.headers.location, '/login')
  t.equal((await bobBrowser.post('/account/devices/disconnect', { grant: 'x'.repeat(500) })).statusCode, 400, 'a malformed id: a page, not a 500')

  const still = await refresh(app, tv.id, bobTokens.refresh_token)
  t.equal(still.statusCode, 200, 'Bob\'s device still refreshes')
})

t.test('devices leave the list when their tokens end: access-only after its lifetime, revoked families at once', async t => {
  const { app, clock, tv, tvTokens } = await setup(t)
  const browser = await signedIn(app, 'alice')
  t.equal((await postForm(app, '/oauth/revoke', { token: tvTokens.refresh_token, client_id: tv.id })).statusCode, 200)
  let page = await browser.get('/account/devices')
  t.notMatch(page.body, 'Living Room', 'revoked through RFC 7009: gone')
  t.match(page.body, 'Kitchen Radio')
  clock.advance(601)
  page = await browser.get('/account/devices')
  t.notMatch(page.body, 'Kitchen Radio', 'its access token has expired')
  t.match(page.body, 'No devices are connected to your account.')
})


t.test('a device with a live refresh token stays listed for days; times read in days', async t => {
  const { app, clock } = await setup(t)
  clock.advance(3 * 86400)
  const page = await (await signedIn(app, 'alice')).get('/account/devices')
  const items = page.body.split('<li class="device">').slice(1)
  t.equal(items.length, 1, 'the TV (refresh token) but no longer the radio (access token only)')
  t.match(items[0], 'Living Room &lt;TV&gt;')
  t.match(items[0], /Last active<\/dt><dd>Nov 23, 2026, 12:00 UTC \(3 days ago\)/)
})

t.test('an approved device that has not collected its tokens is listed as waiting, and can be cancelled', async t => {
  const { app, clock, tv, alice } = await setup(t)
  const browser = await signedIn(app, 'alice')
  const flow = await startDeviceFlow(app, tv.id)
  clock.advance(2)
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  const page = await browser.get('/account/devices')
  const items = page.body.split('<li class="device">').slice(1)
  t.equal(items.length, 3, 'the waiting TV, the TV and the radio')
  t.match(items[0], 'Approved; waiting for the device to collect its access')
  t.match(items[0], /Last active<\/dt><dd>Not yet/)
  t.match(items[0], 'aria-label="Cancel Living Room &lt;TV&gt;"')
  const grant = (await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow({ where: { userId: alice.id, status: 'approved' } })).id
  const ask = await browser.get(`/account/devices/disconnect?grant=${grant}`)
  t.match(ask.body, 'Cancel Living Room &lt;TV&gt;?')
  t.equal((await browser.post('/account/devices/disconnect', { grant })).headers.location, '/account/devices?notice=disconnected')
  clock.advance(5)
  const polled = await poll(app, tv.id, flow.device_code)
  t.equal(polled.json().error, 'access_denied', 'the device is told no at its next poll')
  t.equal((await browser.get('/account/devices')).body.split('<li class="device">').length - 1, 2, 'no longer listed')
})

t.test('phones: each label sits above its value', async t => {
  const css = (await (await buildTestApp(t)).app.inject('/assets/style.css')).body
  t.match(css, /@media \(max-width: 30rem\) \{\s*\.details \{ grid-template-columns: 1fr;/)
})

void eachDatabase(t, 'listing and disconnecting run the same on both databases', async (t, databaseUrl) => {
  const { app, clock, tv, alice, tvTokens, grantOf } = await setup(t, databaseUrl)
  clock.advance(60)
  t.equal((await refresh(app, tv.id, tvTokens.refresh_token)).statusCode, 200)
  const devices = await app.codepair.storage.connectedDevices.listConnected(alice.id, new Date(clock.ms), 600_000)
  t.same(devices.map(d => [d.clientName, d.staysConnected]), [['Living Room <TV>', true], ['Kitchen Radio', false]], 'newest first')
  t.equal(devices[0]?.lastActiveAt.getTime(), clock.ms, 'last active: the refresh just now')
  const grant = await grantOf(alice.id, tv.id)
  t.equal(await app.codepair.storage.connectedDevices.disconnect(grant, 'someone-else', new Date(clock.ms)), false, 'not the owner: nothing')
  t.equal(await app.codepair.storage.connectedDevices.disconnect(grant, alice.id, new Date(clock.ms)), true)
  t.equal(await app.codepair.storage.connectedDevices.disconnect(grant, alice.id, new Date(clock.ms)), false, 'once')
  const after = await app.codepair.storage.connectedDevices.listConnected(alice.id, new Date(clock.ms), 600_000)
  t.same(after.map(d => d.clientName), ['Kitchen Radio'])
})
