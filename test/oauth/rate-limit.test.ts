// Per-address limit on the device authorization endpoint (@fastify/rate-limit): a spoken
// 429 + Retry-After in RFC 6749 §5.2 shape, counted per instance or shared through Redis,
// and failing open when Redis is down.
import { randomInt } from 'node:crypto'
import { once } from 'node:events'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { addClient, buildTestApp } from '../helpers/app.js'
import { form, FORM } from '../helpers/oauth.js'
import { REDIS_URL, requireRedis } from '../helpers/services.js'

// A fresh documentation-range address per run, so counters left in Redis by an earlier
// run (they live a minute) never meet this one.
const someAddress = () => `198.51.${randomInt(0, 256)}.${randomInt(1, 255)}`

async function start (app: any, clientId: string, remoteAddress: string) {
  return await app.inject({ method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: form({ client_id: clientId }), remoteAddress })
}

t.test('beyond the limit: 429, temporarily_unavailable, Retry-After; other addresses and polling unaffected', async t => {
  const { app } = await buildTestApp(t, { env: { DEVICE_AUTHORIZATION_RATE_PER_IP: '3' } })
  const client = await addClient(app)
  const ip = someAddress()
  for (let i = 0; i < 3; i++) t.equal((await start(app, client.id, ip)).statusCode, 200, `request ${i + 1} of 3`)
  const limited = await start(app, client.id, ip)
  t.equal(limited.statusCode, 429)
  t.same(Object.keys(limited.json()).sort(), ['error', 'error_description'])
  t.equal(limited.json().error, 'temporarily_unavailable')
  t.match(limited.json().error_description, /too many requests from this address; retry in/)
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(limited.headers['retry-after'])}`)
  t.equal(limited.headers['cache-control'], 'no-store')
  t.equal(await app.codepair.storage.db.deviceAuthorization.count(), 3, 'the refused request created nothing')

  t.equal((await start(app, client.id, someAddress())).statusCode, 200, 'another address has its own budget')
  const pollRes = await app.inject({
    method: 'POST', url: '/oauth/token', headers: FORM, remoteAddress: ip,
    payload: form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: client.id, device_code: 'x' })
  })
  t.equal(pollRes.statusCode, 400, 'the token endpoint is not rate-limited by address (slow_down governs polling)')
  t.equal(pollRes.json().error, 'invalid_grant')
})

t.test('0 turns the limit off', async t => {
  const { app } = await buildTestApp(t, { env: { DEVICE_AUTHORIZATION_RATE_PER_IP: '0' } })
  const client = await addClient(app)
  const ip = someAddress()
  for (let i = 0; i < 30; i++) {
    const res = await start(app, client.id, ip)
    if (res.statusCode !== 200) t.fail(`request ${i + 1}: ${res.statusCode}`)
  }
  t.equal(await app.codepair.storage.db.deviceAuthorization.count(), 30)
})

t.test('with Redis, instances share one budget', async t => {
  if (!await requireRedis(t)) return
  const env = { DEVICE_AUTHORIZATION_RATE_PER_IP: '4', RATE_LIMIT_REDIS_URL: REDIS_URL, LOG_LEVEL: 'warn' }
  const warnings: string[] = []
  const logStream = { write: (line: string) => { warnings.push(line) } }
  const a = await buildTestApp(t, { env, logStream })
  const b = await buildTestApp(t, { env, logStream })
  const ca = await addClient(a.app)
  const cb = await addClient(b.app)
  // Start-up waits up to 3 s for Redis and then goes on without it (fail open); on a busy
  // machine the connection may still be coming up, and uncounted requests would pass.
  for (const app of [a.app, b.app]) {
    const redis = app.rateLimitRedis
    if (redis !== null && redis.status !== 'ready') await once(redis, 'ready')
  }
  const ip = someAddress()
  const codes: number[] = []
  for (const [app, client] of [[a.app, ca], [b.app, cb], [a.app, ca], [b.app, cb], [a.app, ca], [b.app, cb]] as const) {
    codes.push((await start(app, client.id, ip)).statusCode)
  }
  t.same(codes, [200, 200, 200, 200, 429, 429], `four requests across both instances, then 429 on either (from ${ip}; logs: ${warnings.join('') || 'none'})`)
})

t.test('Redis unreachable: pairing keeps working, a warning is logged, shutdown does not hang', async t => {
  const lines: string[] = []
  const { app } = await buildTestApp(t, {
    env: { DEVICE_AUTHORIZATION_RATE_PER_IP: '1', RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'warn' },
    logStream: { write: (line: string) => { lines.push(line) } }
  })
  const client = await addClient(app)
  const ip = someAddress()
  t.equal((await start(app, client.id, ip)).statusCode, 200)
  t.equal((await start(app, client.id, ip)).statusCode, 200, 'the limit lapses rather than pairing failing')
  t.match(lines.join(''), 'rate-limit Redis unavailable')
  await app.close()
})

t.test('a bad RATE_LIMIT_REDIS_URL stops start-up with a message', async t => {
  try {
    loadConfig({ RATE_LIMIT_REDIS_URL: 'localhost:6379' })
    t.fail('expected a ConfigError')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    t.match((err as Error).message, 'RATE_LIMIT_REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379')
  }
})
