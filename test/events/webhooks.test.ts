// Webhooks end to end on SQLite and PostgreSQL: a receiver on 127.0.0.1 that fails, times
// out and recovers; signatures checked with the standardwebhooks package's own verifier.
import t from 'tap'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { createUser } from '../../src/admin/users.js'
import { createWebhook, listDeliveries } from '../../src/admin/webhooks.js'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { eachDatabase } from '../helpers/db.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'
import { startReceiver, typeOf, type Received } from '../helpers/webhook-receiver.js'
import type { FastifyInstance } from 'fastify'

const FAST = { WEBHOOK_POLL_MS: '100', WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_RETRY_MAX_SECONDS: '2' }

async function subscribe (app: FastifyInstance, url: string, events: string) {
  return await createWebhook(app.codepair.storage.db, app.codepair.secrets.webhookSecretKey, { url, events }, false)
}

function verified (secret: string, r: Received): { id: string, type: string, timestamp: string, subject: string, data: Record<string, unknown> } {
  return new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as ReturnType<typeof verified>
}

await eachDatabase(t, 'a device\'s events reach a webhook in order, signed per Standard Webhooks', async (t, databaseUrl) => {
  const receiver = await startReceiver(t)
  const { app } = await buildTestApp(t, { databaseUrl, env: FAST })
  const hook = await subscribe(app, receiver.url, 'device.code_issued device.approved device.tokens_issued')
  t.match(hook.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a Standard Webhooks secret, 32 bytes')
  const stored = await app.codepair.storage.db.webhookSubscription.findUniqueOrThrow({ where: { id: hook.id } })
  t.notOk(stored.secret.includes(hook.secret.slice(6)), 'stored sealed, never in clear')

  await addUser(app)
  const client = await addClient(app)
  const flow = await startDeviceFlow(app, client.id)
  await new Browser(app).decide(flow.user_code, 'alice', PASSWORD, 'approve')
  t.equal((await poll(app, client.id, flow.device_code)).statusCode, 200)

  await receiver.waitFor(r => r.length >= 3, 'three deliveries')
  const bodies = receiver.received.map(r => verified(hook.secret, r))
  t.same(bodies.map(b => b.type), ['device.code_issued', 'device.approved', 'device.tokens_issued'], 'in order; user.signed_in was not subscribed')
  t.equal(new Set(bodies.map(b => b.subject)).size, 1, 'one subject: the grant')
  for (const [i, r] of receiver.received.entries()) {
    t.equal(r.headers['webhook-id'], bodies[i]?.id, 'webhook-id is the event id')
    t.match(r.headers['content-type'], 'application/json')
    t.ok(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000) < 300, 'timestamp of the attempt')
  }
  t.match(bodies[2], { type: 'device.tokens_issued', timestamp: /^\d{4}-\d\d-\d\dT/, data: { clientId: client.id, refreshToken: false } })
  t.notOk(receiver.received.some(r => r.body.includes(flow.device_code) || r.body.includes(flow.user_code)), 'no codes in payloads')

  const first = receiver.received[0]!
  t.throws(() => new Webhook(hook.secret).verify(first.body.replace('device.code_issued', 'device.approved'), first.headers as Record<string, string>), WebhookVerificationError, 'a changed body fails verification')
  t.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(first.body, first.headers as Record<string, string>), WebhookVerificationError, 'another secret fails')

  // The receiver answers before the worker records the outcome: wait for the rows, not the requests.
  const until = Date.now() + 60_000
  while (await app.codepair.storage.db.webhookDelivery.count({ where: { subscriptionId: hook.id, status: 'delivered' } }) < 3 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 50))
  const deliveries = await listDeliveries(app.codepair.storage.db, hook.id, undefined, 10)
  t.same(deliveries.map(d => [d.type, d.status, d.attempts, d.lastStatus]), [
    ['device.tokens_issued', 'delivered', 1, 204], ['device.approved', 'delivered', 1, 204], ['device.code_issued', 'delivered', 1, 204]
  ], 'listed newest first')
})

await eachDatabase(t, 'a receiver that fails, then times out, then recovers: retried with the same id, order per subject held', async (t, databaseUrl) => {
  const receiver = await startReceiver(t)
  receiver.answer = (_r, i) => i === 0 ? 500 : i === 1 ? 'hang' : 204
  const { app } = await buildTestApp(t, { databaseUrl, env: { ...FAST, WEBHOOK_TIMEOUT_MS: '500' } })
  const hook = await subscribe(app, receiver.url, 'device.code_issued device.approved')
  await addUser(app)
  const client = await addClient(app)
  const flow = await startDeviceFlow(app, client.id)
  await new Browser(app).decide(flow.user_code, 'alice', PASSWORD, 'approve')

  await receiver.waitFor(r => r.length >= 4, 'four requests')
  const got = receiver.received.map(r => verified(hook.secret, r))
  t.same(got.map(b => b.type), ['device.code_issued', 'device.code_issued', 'device.code_issued', 'device.approved'],
    'the approval waits until the code_issued before it is delivered')
  t.equal(new Set(got.slice(0, 3).map(b => b.id)).size, 1, 'one webhook-id on every retry (the idempotency key)')
  // Each attempt is signed when it is sent: its webhook-timestamp is the attempt's own second,
  // so two attempts share a signature only when they fall in the same second.
  const attempts = receiver.received.slice(0, 3)
  t.ok(attempts.every(r => Math.abs(Number(r.headers['webhook-timestamp']) * 1000 - r.at) < 2000), 'each attempt signed afresh, at its own time')
  t.equal(new Set(attempts.map(r => r.headers['webhook-signature'])).size, new Set(attempts.map(r => r.headers['webhook-timestamp'])).size, 'a new signature for every new timestamp')
  const gaps = [receiver.received[1]!.at - receiver.received[0]!.at, receiver.received[2]!.at - receiver.received[1]!.at]
  t.ok(gaps[0]! >= 450, `backoff after the failure (${gaps[0]} ms; at least half of 1 s)`)
  t.ok(gaps[1]! >= 450 + 900, `the timeout (500 ms) then a longer backoff (${gaps[1]} ms)`)

  await new Promise(resolve => setTimeout(resolve, 300)) // let the last outcome be written
  const [approved, issued] = await listDeliveries(app.codepair.storage.db, hook.id, undefined, 10)
  t.match(issued, { type: 'device.code_issued', status: 'delivered', attempts: 3, lastStatus: 204, lastError: null })
  t.match(approved, { type: 'device.approved', status: 'delivered', attempts: 1 })
  receiver.release()
})

await eachDatabase(t, 'after the retry limit a delivery is dead and listed; the subject\'s next event goes out', async (t, databaseUrl) => {
  const receiver = await startReceiver(t)
  receiver.answer = r => typeOf(r) === 'device.code_issued' ? 503 : 204
  const { app } = await buildTestApp(t, { databaseUrl, env: { ...FAST, WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_RETRY_MAX_SECONDS: '1' } })
  const hook = await subscribe(app, receiver.url, '*')
  await addUser(app)
  const client = await addClient(app)
  const flow = await startDeviceFlow(app, client.id)
  await new Browser(app).decide(flow.user_code, 'alice', PASSWORD, 'approve')
  await receiver.waitFor(r => r.some(x => typeOf(x) === 'device.approved'), 'the approval')
  t.same(receiver.received.map(typeOf).filter(x => x.startsWith('device.')), ['device.code_issued', 'device.code_issued', 'device.approved'])
  const dead = await listDeliveries(app.codepair.storage.db, hook.id, 'dead', 10)
  t.equal(dead.length, 1)
  t.match(dead[0], { type: 'device.code_issued', status: 'dead', attempts: 2, lastStatus: 503, lastError: 'HTTP 503', nextAttemptAt: null, finishedAt: /^\d{4}/ })
})

await eachDatabase(t, 'the outbox commits with the change it reports, or not at all', async (t, databaseUrl) => {
  const receiver = await startReceiver(t)
  const { app, clock } = await buildTestApp(t, { databaseUrl, env: { WEBHOOK_WORKER: 'false' } })
  await subscribe(app, receiver.url, 'device.approved user.created')
  const { events, storage } = app.codepair
  const user = await addUser(app)
  const client = await addClient(app)
  const flow = await startDeviceFlow(app, client.id)
  const rec = (await storage.devices.findByUserCodeHash((await storage.db.deviceAuthorization.findFirstOrThrow()).userCodeHash))!
  const data = { grantId: rec.id, clientId: client.id, scope: rec.scope, resource: null, userId: user.id, ip: null }
  const now = new Date(clock.ms)
  // Two approvals race: one decides, the other changes nothing and reports nothing.
  const results = await Promise.all([1, 2].map(async () => await events.emit('device.approved', data, async outbox => await storage.devices.decide(rec.id, 'approved', user.id, now, outbox))))
  t.same(results.sort(), [false, true])
  t.equal(await storage.db.outboxEvent.count({ where: { type: 'device.approved' } }), 1)
  t.equal(await storage.db.webhookDelivery.count({ where: { status: 'pending' } }), 1, 'one delivery, for the one approval')
  // A failed change rolls its outbox row back with it.
  await t.rejects(createUser(storage.db, { username: 'alice', password: 'long enough password' }, events), /already exists/)
  t.equal(await storage.db.outboxEvent.count({ where: { type: 'user.created' } }), 0, 'addUser ran without events; the duplicate left nothing')
  await createUser(storage.db, { username: 'bob', password: 'long enough password' }, events)
  t.equal(await storage.db.outboxEvent.count({ where: { type: 'user.created' } }), 1)
  t.equal(receiver.received.length, 0, 'WEBHOOK_WORKER=false: this instance only writes the outbox')
  void flow
})

t.test('the request path never waits on a delivery', async t => {
  const receiver = await startReceiver(t)
  receiver.answer = () => 'hang'
  const { app } = await buildTestApp(t, { env: { ...FAST, WEBHOOK_TIMEOUT_MS: '60000' } })
  await subscribe(app, receiver.url, 'device.code_issued')
  const client = await addClient(app)
  await startDeviceFlow(app, client.id)
  await receiver.waitFor(r => r.length === 1, 'the first delivery')
  // The receiver holds that delivery open; new requests are answered all the same, and the
  // events of other subjects go out beside it instead of queueing behind it.
  for (let i = 0; i < 3; i++) await startDeviceFlow(app, client.id)
  await receiver.waitFor(r => r.length === 4, 'four deliveries in flight at once')
  t.equal(await app.codepair.storage.db.webhookDelivery.count({ where: { status: 'pending' } }), 4, 'none answered yet')
  receiver.release()
  const until = Date.now() + 60_000
  while (await app.codepair.storage.db.webhookDelivery.count({ where: { status: 'delivered' } }) < 4 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await app.codepair.storage.db.webhookDelivery.count({ where: { status: 'delivered' } }), 4, 'all delivered once released')
})
