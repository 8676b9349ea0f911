// Single use under concurrency, on SQLite and on PostgreSQL.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { eachDatabase } from '../helpers/db.js'
import { poll, postForm, startDeviceFlow } from '../helpers/oauth.js'

/** One device code, approved and not yet redeemed. */
async function approvedFlow (t: Test, databaseUrl: string) {
  const { app, clock } = await buildTestApp(t, { databaseUrl })
  const client = await addClient(app)
  const user = await addUser(app)
  const flow = await startDeviceFlow(app, client.id)
  const row = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  t.ok(await app.codepair.storage.devices.decide(row.id, 'approved', user.id, new Date(clock.ms)))
  return { app, client, flow }
}

void eachDatabase(t, '50 concurrent polls of one approved code give exactly one 200', async (t, databaseUrl) => {
  const { app, client, flow } = await approvedFlow(t, databaseUrl)

  const results = await Promise.all(Array.from({ length: 50 }, async () => await poll(app, client.id, flow.device_code)))
  const ok = results.filter(r => r.statusCode === 200)
  t.equal(ok.length, 1, 'exactly one poll receives tokens')
  const others = new Set(results.filter(r => r.statusCode !== 200).map(r => r.json().error))
  t.ok([...others].every(e => e === 'slow_down' || e === 'invalid_grant'), `the rest are refused (${[...others].join(', ')})`)
  t.equal(results.filter(r => r.statusCode >= 500).length, 0)
  const issued = await app.codepair.storage.db.auditEvent.count({ where: { type: 'token.issued' } })
  t.equal(issued, 1, 'one grant written')
})

void eachDatabase(t, '30 concurrent polls at /oauth/token and /oauth/device/authorize together: one redemption', async (t, databaseUrl) => {
  const { app, client, flow } = await approvedFlow(t, databaseUrl)

  // Interleaved: even polls at the token endpoint, odd ones at the product's own path
  // (every third of those with a wrong auth_code, which must not take the approval away).
  const own = async (i: number) => await postForm(app, '/oauth/device/authorize', {
    client_id: client.id, device_code: flow.device_code, auth_code: i % 3 === 0 ? 'BCDF-GHJK' : flow.user_code
  })
  const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => ({ i, res: i % 2 === 0 ? await poll(app, client.id, flow.device_code) : await own(i) })))
  const ok = results.filter(r => r.res.statusCode === 200)
  t.equal(ok.length, 1, `exactly one poll receives tokens (poll ${ok[0]?.i ?? 'none'})`)
  const refused = results.filter(r => r.res.statusCode !== 200)
  t.ok(refused.every(r => ['slow_down', 'invalid_grant'].includes(r.res.json().error)), `the rest are refused (${[...new Set(refused.map(r => r.res.json().error))].join(', ')})`)
  t.ok(results.filter(r => r.i % 2 === 1 && r.i % 3 === 0).every(r => r.res.statusCode === 400 && r.res.json().error === 'invalid_grant'), 'a wrong auth_code never redeems')
  t.equal(results.filter(r => r.res.statusCode >= 500).length, 0)
  t.equal(await app.codepair.storage.db.auditEvent.count({ where: { type: 'token.issued' } }), 1, 'one grant written')
  t.equal((await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()).status, 'consumed')
})

void eachDatabase(t, 'approve and deny racing: exactly one wins', async (t, databaseUrl) => {
  const { app, clock } = await buildTestApp(t, { databaseUrl })
  const client = await addClient(app)
  const user = await addUser(app)
  await startDeviceFlow(app, client.id)
  const row = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  const now = new Date(clock.ms)
  const wins = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await app.codepair.storage.devices.decide(row.id, i % 2 === 0 ? 'approved' : 'denied', user.id, now)))
  t.equal(wins.filter(Boolean).length, 1)
})

void eachDatabase(t, 'two browser sessions deciding one code: one result page, one refusal', async (t, databaseUrl) => {
  const { app } = await buildTestApp(t, { databaseUrl })
  const client = await addClient(app)
  await addUser(app)
  const flow = await startDeviceFlow(app, client.id)
  const a = new Browser(app, '203.0.113.1')
  const b = new Browser(app, '203.0.113.2')
  t.equal((await a.openConfirmation(flow.user_code, 'alice', PASSWORD)).statusCode, 200)
  t.equal((await b.openConfirmation(flow.user_code, 'alice', PASSWORD)).statusCode, 200)
  const [ra, rb] = await Promise.all([a.post('/activate/confirm', { decision: 'approve' }), b.post('/activate/confirm', { decision: 'deny' })])
  t.same([ra.statusCode, rb.statusCode].sort(), [303, 409], 'one wins (and redirects to its result), one is refused')
  const status = (await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()).status
  t.equal(status, ra.statusCode === 303 ? 'approved' : 'denied')
})

void eachDatabase(t, 'attempt counters count every concurrent failure', async (t, databaseUrl) => {
  const { app, clock } = await buildTestApp(t, { databaseUrl })
  const now = new Date(clock.ms)
  const counts = await Promise.all(Array.from({ length: 50 }, async () => (await app.codepair.storage.attempts.hit('k', 60, now)).count))
  t.same(counts.sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1), 'each hit saw a distinct count')
  const later = new Date(clock.ms + 61000)
  t.equal((await app.codepair.storage.attempts.hit('k', 60, later)).count, 1, 'a new window starts from one')
  t.equal(await app.codepair.storage.attempts.peek('k', new Date(clock.ms + 200000)), null, 'an ended window reads as none')
})
