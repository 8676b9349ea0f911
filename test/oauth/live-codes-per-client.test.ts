// A leaked public client id must not fill MAX_LIVE_CODES (the room behind the RFC 8628 §5.1
// brute-force bound) for every other client: each client has its own share.
import t from 'tap'
import { addClient, addUser, buildTestApp, listenTestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { postForm } from '../helpers/oauth.js'
import { sha256 } from '../../src/oauth/codes.js'

const URL = '/oauth/device_authorization'

await eachDatabase(t, 'each client has at most MAX_LIVE_CODES_PER_CLIENT live codes', async (t, databaseUrl) => {
  const { app, clock } = await buildTestApp(t, { databaseUrl, env: { MAX_LIVE_CODES: '6', MAX_LIVE_CODES_PER_CLIENT: '3' } })
  const leaked = await addClient(app, { name: 'Leaked TV app' })
  const other = await addClient(app, { name: 'Radio' })
  const third = await addClient(app, { name: 'Console' })
  const user = await addUser(app)

  const codes: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await postForm(app, URL, { client_id: leaked.id })
    t.equal(res.statusCode, 200)
    codes.push(res.json().device_code)
  }
  const capped = await postForm(app, URL, { client_id: leaked.id })
  t.equal(capped.statusCode, 429, 'the fourth live code of one client is refused')
  t.equal(capped.json().error, 'temporarily_unavailable', 'RFC 6749 §5.2 shape')
  t.match(capped.json().error_description, /too many pending device authorizations for this client \(at most 3\)/)
  t.equal(capped.headers['cache-control'], 'no-store')
  t.ok(Number(capped.headers['retry-after']) > 0, 'Retry-After tells the device when to try again')

  for (let i = 0; i < 3; i++) t.equal((await postForm(app, URL, { client_id: other.id })).statusCode, 200, 'another client still pairs')
  t.equal((await postForm(app, URL, { client_id: third.id })).statusCode, 503, 'MAX_LIVE_CODES still caps them all together')

  // A decided code is no longer live: after the gauge's one-second refresh the client has room again.
  const rec = await app.codepair.storage.devices.findByDeviceCodeHash(sha256(codes[0] ?? ''))
  t.ok(rec !== null && await app.codepair.storage.devices.decide(rec.id, 'denied', user.id, new Date(clock.now())))
  clock.advance(2)
  t.equal((await postForm(app, URL, { client_id: leaked.id })).statusCode, 200, 'room again once one of its codes is decided')
  clock.advance(601) // all expire
  t.equal((await postForm(app, URL, { client_id: leaked.id })).statusCode, 200)
})

t.test('the per-client cap defaults to half of MAX_LIVE_CODES and may not exceed it', async t => {
  const { loadConfig } = await import('../../src/config.js')
  const { configProblems } = await import('../helpers/config.js')
  t.equal(loadConfig({}).maxLiveCodesPerClient, 50)
  t.equal(loadConfig({ MAX_LIVE_CODES: '7' }).maxLiveCodesPerClient, 4)
  t.equal(loadConfig({ MAX_LIVE_CODES: '100', MAX_LIVE_CODES_PER_CLIENT: '100' }).maxLiveCodesPerClient, 100, 'one client may be given all the room')
  t.match(configProblems({ MAX_LIVE_CODES_PER_CLIENT: '101' }), 'MAX_LIVE_CODES_PER_CLIENT: must not exceed MAX_LIVE_CODES (100)')
  t.match(configProblems({ MAX_LIVE_CODES_PER_CLIENT: '0' }), 'MAX_LIVE_CODES_PER_CLIENT: must be a whole number from 1 to 100000000, or empty for half of MAX_LIVE_CODES (got "0")')
})

await eachDatabase(t, 'a burst of parallel requests cannot pass one stale count: the caps hold exactly', async (t, databaseUrl) => {
  const { app, issuer, clock } = await listenTestApp(t, { databaseUrl, env: { MAX_LIVE_CODES: '6', MAX_LIVE_CODES_PER_CLIENT: '3' } })
  const leaked = await addClient(app, { name: 'Leaked TV app' })
  const other = await addClient(app, { name: 'Radio' })
  const third = await addClient(app, { name: 'Console' })
  const burst = async (clientId: string) => await Promise.all(Array.from({ length: 30 }, async () =>
    (await fetch(`${issuer}${URL}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${clientId}` })).status))
  const count = (statuses: number[], status: number) => statuses.filter(s => s === status).length

  const first = await burst(leaked.id)
  t.equal(count(first, 200), 3, 'three codes for the leaked client out of 30 sent at once')
  t.equal(count(first, 429), 27, 'the rest hear its share is full')
  const second = await burst(other.id)
  t.equal(count(second, 200), 3, 'another client still gets its share')
  const third30 = await burst(third.id)
  // Refused by the full room (503), or for a moment by its own share held by those (429).
  t.equal(count(third30, 200), 0, 'MAX_LIVE_CODES holds for them all together')
  t.equal(count(third30, 503) + count(third30, 429), 30)
  t.equal((await postForm(app, URL, { client_id: third.id })).statusCode, 503, 'alone, the request hears the room is full')
  t.equal(await app.codepair.storage.devices.countLive(new Date(clock.ms)), 6, 'six live codes in the database, not one more')
})
