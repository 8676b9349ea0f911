import t from 'tap'
import { buildTestApp } from './helpers/app.js'

t.test('liveness and readiness', async t => {
  const { app } = await buildTestApp(t)
  const live = await app.inject('/healthz')
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready' })
  const missing = await app.inject('/nope')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')
})
