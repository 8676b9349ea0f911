// Expired rows go in bounded batches; consumed codes stay long enough to detect replays.
import t from 'tap'
import { consumedRetentionSeconds, EXPIRED_RETENTION_SECONDS, PURGE_BATCH, purgeOnce } from '../../src/jobs/purge.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'

t.test('purges expired authorizations and counters, keeps consumed ones for the retention time', async t => {
  const { app, clock, config } = await buildTestApp(t)
  const { storage } = app.codepair
  const client = await addClient(app)
  const user = await addUser(app)
  const consumed = await startDeviceFlow(app, client.id)
  const row = await storage.db.deviceAuthorization.findFirstOrThrow()
  await storage.devices.decide(row.id, 'approved', user.id, new Date(clock.ms))
  t.equal((await poll(app, client.id, consumed.device_code)).statusCode, 200)
  for (let i = 0; i < 3; i++) await startDeviceFlow(app, client.id)
  await storage.attempts.hit('x', 60, new Date(clock.ms))

  clock.advance(601)
  t.equal(await purgeOnce(storage, clock.now, config.consumedRetentionSeconds), 1, 'the expired counter')
  t.equal(await storage.db.deviceAuthorization.count(), 4, 'expired codes stay a while')
  clock.advance(EXPIRED_RETENTION_SECONDS)
  t.equal(await purgeOnce(storage, clock.now, config.consumedRetentionSeconds), 3, 'then the three expired codes go')
  t.equal(await storage.db.deviceAuthorization.count(), 1, 'the consumed code stays')
  t.equal((await poll(app, client.id, consumed.device_code)).json().error, 'invalid_grant', 'so a replay is still recognised')

  clock.advance(config.consumedRetentionSeconds)
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal(await storage.db.deviceAuthorization.count(), 0, 'gone after the retention time')
})

t.test('a device polling late, after a purge ran, still hears expired_token (RFC 8628 §3.5)', async t => {
  const { app, clock, config } = await buildTestApp(t)
  const { storage } = app.codepair
  const client = await addClient(app)
  const flow = await startDeviceFlow(app, client.id)
  clock.advance(601)
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'expired_token', 'just past its expiry')
  clock.advance(EXPIRED_RETENTION_SECONDS - 2)
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'expired_token', 'within the hour')
  clock.advance(3)
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal(await storage.db.deviceAuthorization.count(), 0, 'gone after it')
})

t.test('one batch deletes at most PURGE_BATCH rows', async t => {
  const { app, clock } = await buildTestApp(t)
  const client = await addClient(app)
  const now = clock.ms
  await app.codepair.storage.db.deviceAuthorization.createMany({
    data: Array.from({ length: PURGE_BATCH + 20 }, (_, i) => ({
      id: `r${i}`, deviceCodeHash: `d${i}`, userCodeHash: `u${i}`, clientId: client.id, scope: '', status: 'pending',
      createdAt: new Date(now - 1000000), expiresAt: new Date(now - 1000), intervalSeconds: 5
    }))
  })
  t.equal(await app.codepair.storage.devices.purgeExpired(new Date(now), new Date(now), PURGE_BATCH), PURGE_BATCH)
  t.equal(await app.codepair.storage.db.deviceAuthorization.count(), 20)
})

t.test('refresh tokens go once idle-expired, then the grant they kept alive', async t => {
  const { app, clock, config } = await buildTestApp(t, { env: { REFRESH_TOKEN_IDLE_TTL_SECONDS: '3600', CONSUMED_RETENTION_SECONDS: '600' } })
  const { storage } = app.codepair
  const client = await addClient(app)
  const user = await addUser(app)
  const flow = await startDeviceFlow(app, client.id, { scope: 'offline_access' })
  const row = await storage.db.deviceAuthorization.findFirstOrThrow()
  await storage.devices.decide(row.id, 'approved', user.id, new Date(clock.ms))
  t.equal((await poll(app, client.id, flow.device_code)).statusCode, 200)

  clock.advance(config.consumedRetentionSeconds + 601)
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal(await storage.db.deviceAuthorization.count(), 1, 'a grant with a refresh token stays past the retention time')
  t.equal(await storage.db.refreshToken.count(), 1, 'a refresh token within its idle time stays')

  clock.advance(3601)
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal(await storage.db.refreshToken.count(), 0, 'idle-expired: purged')
  await purgeOnce(storage, clock.now, config.consumedRetentionSeconds)
  t.equal(await storage.db.deviceAuthorization.count(), 0, 'then the grant goes too')
})

t.test('a consumed code stays while the access token it issued may live (requireScope looks its grant up)', async t => {
  const { app, clock, config } = await buildTestApp(t, { env: { CONSUMED_RETENTION_SECONDS: '60', ACCESS_TOKEN_TTL_SECONDS: '3600' } })
  const { storage } = app.codepair
  t.equal(consumedRetentionSeconds(config), 3600 + config.clockToleranceSeconds, 'never shorter than the access token lifetime')
  const client = await addClient(app)
  const user = await addUser(app)
  const flow = await startDeviceFlow(app, client.id, { scope: 'profile' })
  const row = await storage.db.deviceAuthorization.findFirstOrThrow()
  await storage.devices.decide(row.id, 'approved', user.id, new Date(clock.ms))
  const token = (await poll(app, client.id, flow.device_code)).json().access_token as string
  const me = async () => (await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode

  clock.advance(600 + 60 + 1) // past the code's expiry and CONSUMED_RETENTION_SECONDS
  await purgeOnce(storage, clock.now, consumedRetentionSeconds(config))
  t.equal(await storage.db.deviceAuthorization.count(), 1, 'the grant stays')
  t.equal(await me(), 200, 'its access token still works')
  clock.advance(3600)
  await purgeOnce(storage, clock.now, consumedRetentionSeconds(config))
  t.equal(await storage.db.deviceAuthorization.count(), 0, 'gone once the token has expired')
})
