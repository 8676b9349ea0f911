// The PostgreSQL hot path batches the device authorizations and polls of one turn of the
// event loop into one statement each (src/storage/hot-path-postgres.ts). These tests send
// many requests at once over real HTTP, so batches really form, and check that every row
// behaves as under one statement per request: single use, slow_down persisted per poll,
// a taken user code or a bad row failing only its own caller.
import t, { type Test } from 'tap'
import { addClient, addUser, listenTestApp } from '../helpers/app.js'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { form, FORM } from '../helpers/oauth.js'
import { sha256 } from '../../src/oauth/codes.js'
import { DEVICE_CODE_GRANT } from '../../src/oauth/grant-types.js'
import { DuplicateUserCodeError } from '../../src/oauth/stores.js'

async function postgresApp (t: Test) {
  const ctx = await listenTestApp(t, { databaseUrl: await freshPostgresUrl(t) })
  const client = await addClient(ctx.app)
  const post = async (path: string, body: Record<string, string>) => {
    const res = await fetch(`${ctx.issuer}${path}`, { method: 'POST', headers: FORM, body: form(body) })
    return { status: res.status, body: await res.json() as Record<string, any> }
  }
  const start = async () => {
    const r = await post('/oauth/device_authorization', { client_id: client.id })
    if (r.status !== 200) throw new Error(`device authorization failed: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }
  const poll = async (deviceCode: string) => await post('/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: client.id, device_code: deviceCode })
  return { ...ctx, client, post, start, poll }
}

t.test('PostgreSQL hot path, batched', async t => {
  if (!await requirePostgres(t)) return

  await t.test('30 concurrent polls of one pending code: one accepted, 29 slow_down, each +5 s persisted', async t => {
    const { app, start, poll } = await postgresApp(t)
    const flow = await start()
    const results = await Promise.all(Array.from({ length: 30 }, async () => await poll(flow.device_code)))
    const errors = results.map(r => r.body.error)
    t.equal(errors.filter(e => e === 'authorization_pending').length, 1, 'exactly one poll is on time')
    t.equal(errors.filter(e => e === 'slow_down').length, 29, `the others are too early (${[...new Set(errors)].join(', ')})`)
    // One statement per poll would answer 10, 15, … 150: the same here, each poll seeing the one before.
    const intervals = results.filter(r => r.body.error === 'slow_down').map(r => r.body.interval as number).sort((a, b) => a - b)
    t.same(intervals, Array.from({ length: 29 }, (_, i) => flow.interval + 5 * (i + 1)), 'every slow_down answer carries its own interval')
    const row = await app.codepair.storage.devices.findByDeviceCodeHash(sha256(flow.device_code))
    t.equal(row?.intervalSeconds, flow.interval + 5 * 29, 'the interval stored is 5 s longer per slow_down')
  })

  await t.test('50 concurrent polls of one approved code: exactly one 200, slow_down persisted', async t => {
    const { app, clock, start, poll } = await postgresApp(t)
    const user = await addUser(app)
    const flow = await start()
    const rec = await app.codepair.storage.devices.findByDeviceCodeHash(sha256(flow.device_code))
    t.ok(rec !== null && await app.codepair.storage.devices.decide(rec.id, 'approved', user.id, new Date(clock.ms)))
    const results = await Promise.all(Array.from({ length: 50 }, async () => await poll(flow.device_code)))
    t.equal(results.filter(r => r.status === 200).length, 1, 'exactly one poll receives tokens')
    const refused = results.filter(r => r.status !== 200)
    t.ok(refused.every(r => r.status === 400 && ['slow_down', 'invalid_grant'].includes(r.body.error)), `the rest are refused (${[...new Set(refused.map(r => r.body.error))].join(', ')})`)
    const slowDowns = refused.filter(r => r.body.error === 'slow_down').length
    const row = await app.codepair.storage.devices.findByDeviceCodeHash(sha256(flow.device_code))
    t.equal(row?.status, 'consumed')
    t.equal(row?.intervalSeconds, flow.interval + 5 * slowDowns, `each of the ${slowDowns} slow_down answers added 5 s in the database`)
    t.equal(await app.codepair.storage.db.auditEvent.count({ where: { type: 'token.issued' } }), 1, 'one grant written')
    t.equal(await app.codepair.storage.db.refreshToken.count(), 0, 'no refresh token written for the losers (none asked for offline_access)')
  })

  await t.test('50 concurrent device authorizations: 50 rows, 50 distinct codes, each polls on its own', async t => {
    const { app, start, poll } = await postgresApp(t)
    const flows = await Promise.all(Array.from({ length: 50 }, async () => await start()))
    t.equal(new Set(flows.map(f => f.user_code)).size, 50)
    t.equal(await app.codepair.storage.db.deviceAuthorization.count(), 50)
    // Polls of 50 different codes in one batch: each is its own first poll, never throttled.
    const polled = await Promise.all(flows.map(async f => await poll(f.device_code)))
    t.ok(polled.every(r => r.body.error === 'authorization_pending'), [...new Set(polled.map(r => r.body.error))].join(', '))
  })

  await t.test('in one batch, a taken user code and a row of an unknown client fail only their own callers', async t => {
    const { app, client, clock } = await postgresApp(t)
    const devices = app.codepair.storage.devices
    const record = (i: number, over: Record<string, unknown> = {}) => ({
      id: `batch-${i}`,
      deviceCodeHash: `device-${i}`,
      userCodeHash: `user-${i}`,
      clientId: client.id,
      scope: 'openid',
      resource: null,
      createdAt: new Date(clock.ms),
      expiresAt: new Date(clock.ms + 600000),
      intervalSeconds: 5,
      requestIp: null,
      userAgent: null,
      ...over
    })
    const settled = await Promise.allSettled([
      devices.create(record(1)),
      devices.create(record(2, { userCodeHash: 'user-1' })), // the same user code, same batch
      devices.create(record(3, { clientId: 'no-such-client' })), // a foreign key violation
      devices.create(record(4))
    ])
    t.equal(settled[0].status, 'fulfilled')
    t.ok(settled[1].status === 'rejected' && settled[1].reason instanceof DuplicateUserCodeError, 'the second holder of a user code hears duplicate')
    t.equal(settled[2].status, 'rejected', 'the bad row is refused')
    t.equal(settled[3].status, 'fulfilled', 'a good row in the same batch is written anyway')
    const ids = (await app.codepair.storage.db.deviceAuthorization.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map(r => r.id)
    t.same(ids, ['batch-1', 'batch-4'])
  })
})
