// Several instances on one PostgreSQL database, each running a delivery worker: every
// event is delivered once, the work is shared (FOR UPDATE SKIP LOCKED), and the events of
// one subject reach the receiver in order even while it fails at random.
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { createWebhook } from '../../src/admin/webhooks.js'
import { addClient, addUser, buildTestApp, PASSWORD, type TestApp } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

t.test('three instances share the deliveries: each event once, in order per subject', async t => {
  if (!await requirePostgres(t)) return
  const databaseUrl = await freshPostgresUrl(t)
  const receiver = await startReceiver(t)
  // A quarter of the requests fail: retries interleave with first attempts on every instance.
  let failures = 0
  receiver.answer = (_r, i) => i > 0 && Math.random() < 0.25 ? (failures++, 500) : 204
  const env = { WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_RETRY_MAX_SECONDS: '1' }
  const instances: TestApp[] = []
  for (let i = 0; i < 3; i++) instances.push(await buildTestApp(t, { databaseUrl, env }))
  const a = instances[0]!
  const hook = await createWebhook(a.app.codepair.storage.db, a.app.codepair.secrets.webhookSecretKey, { url: receiver.url, events: 'device.code_issued device.approved device.tokens_issued' }, false)
  await addUser(a.app)
  const client = await addClient(a.app)

  // Ten devices, each starting on one instance, approved through another, redeemed on the third.
  const FLOWS = 10
  await Promise.all(Array.from({ length: FLOWS }, async (_, i) => {
    const [start, page, token] = [instances[i % 3]!, instances[(i + 1) % 3]!, instances[(i + 2) % 3]!]
    const flow = await startDeviceFlow(start.app, client.id)
    const decided = await new Browser(page.app, `198.51.100.${i + 1}`).decide(flow.user_code, 'alice', PASSWORD, 'approve')
    t.equal(decided.statusCode, 200)
    t.equal((await poll(token.app, client.id, flow.device_code)).statusCode, 200)
  }))

  const { db } = a.app.codepair.storage
  const until = Date.now() + 120_000
  while (await db.webhookDelivery.count({ where: { status: 'delivered' } }) < FLOWS * 3) {
    if (Date.now() > until) throw new Error(`not every event was delivered within 120 s: ${receiver.received.length} requests so far`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }

  const verifier = new Webhook(hook.secret)
  const events = receiver.received.map(r => ({ id: String(r.headers['webhook-id']), ...(verifier.verify(r.body, r.headers as Record<string, string>) as { type: string, subject: string }) }))
  t.equal(new Set(events.map(e => e.id)).size, FLOWS * 3, 'every event arrived')

  // Delivered state in the database: each delivery once, by more than one instance.
  const rows = await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' } })
  t.equal(rows.length, FLOWS * 3)
  t.ok(rows.every(r => r.status === 'delivered'), 'all delivered')
  const owners = new Set(rows.map(r => r.leaseOwner))
  t.ok(owners.size >= 2, `the work was shared (${owners.size} instances delivered)`)
  const attempts = rows.reduce((n, r) => n + r.attempts, 0)
  t.equal(receiver.received.length, attempts, 'one request per counted attempt: no delivery was made twice')
  t.equal(attempts - rows.length, failures, `every failure (${failures}) was retried, nothing else`)

  // Per subject, requests arrive in the order the events happened: an event is never sent
  // before the one before it (same subject) was answered 2xx.
  const order = ['device.code_issued', 'device.approved', 'device.tokens_issued']
  const bySubject = new Map<string, string[]>()
  for (const e of events) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e.type])
  t.equal(bySubject.size, FLOWS)
  for (const [subject, types] of bySubject) {
    const firstSeen = types.filter((x, i) => types.indexOf(x) === i)
    t.same(firstSeen, order, `${subject}: in order`)
    // Retries repeat the same type only: never a later event between attempts of an earlier one.
    t.same(types, [...types].sort((x, y) => order.indexOf(x) - order.indexOf(y)), `${subject}: no overtaking`)
  }
})
