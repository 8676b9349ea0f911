// A database outage while devices poll: 503 + Retry-After (devices keep polling),
// readiness fails, nothing is issued, and the service recovers by itself.
import t from 'tap'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { requirePostgres } from '../helpers/db.js'
import { poll, postForm, startDeviceFlow } from '../helpers/oauth.js'
import { postgresBehindProxy } from '../helpers/tcp-proxy.js'

t.test('PostgreSQL goes away and comes back', async t => {
  if (!await requirePostgres(t)) return
  const { url, proxy } = await postgresBehindProxy(t)

  const { app, clock } = await buildTestApp(t, { databaseUrl: url })
  const client = await addClient(app)
  const user = await addUser(app)
  const flow = await startDeviceFlow(app, client.id)
  t.equal((await poll(app, client.id, flow.device_code)).json().error, 'authorization_pending')
  const row = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  await app.codepair.storage.devices.decide(row.id, 'approved', user.id, new Date(clock.ms))

  await proxy.stop()
  clock.advance(5)
  const down = await poll(app, client.id, flow.device_code)
  t.equal(down.statusCode, 503)
  t.equal(down.json().error, 'temporarily_unavailable', 'not a final error: the device keeps polling')
  t.ok(Number(down.headers['retry-after']) >= 1, 'Retry-After tells it when')
  t.equal(down.headers['cache-control'], 'no-store')
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 503)
  t.equal((await app.inject('/healthz')).statusCode, 200, 'liveness does not depend on the database')
  const da = await postForm(app, '/oauth/device_authorization', { client_id: 'unknown-and-uncached' })
  t.equal(da.statusCode, 503, 'device authorization fails closed too')

  await proxy.start()
  clock.advance(5)
  let res = await poll(app, client.id, flow.device_code)
  // Up to 20 s (and 500 s of the test clock, inside the code's 600 s lifetime): the pool
  // reconnects within a poll or two, but CI machines are busy.
  for (let i = 0; i < 100 && res.statusCode === 503; i++) {
    await new Promise(resolve => setTimeout(resolve, 200))
    clock.advance(5)
    res = await poll(app, client.id, flow.device_code)
  }
  t.equal(res.statusCode, 200, 'tokens once the database is back')
  t.equal((await app.inject('/readyz')).statusCode, 200)
})
