// SIGTERM, as Kubernetes, systemd and docker stop send it: readiness turns 503 first
// while requests are still served (SHUTDOWN_DRAIN_SECONDS), a request in flight when the
// port closes still gets its answer, and the process exits on its own within a bound.
import net from 'node:net'
import t from 'tap'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { clusterEnv, openDb, seedClientAndUser, startFlow, startInstance } from '../helpers/cluster.js'
import { form } from '../helpers/oauth.js'

const DRAIN_SECONDS = 3

/** Sends the head and half the body of a POST now, the rest when asked; resolves with the raw response. */
function slowRequest (url: string, path: string, body: string) {
  const u = new URL(url)
  const socket = net.connect(Number(u.port), u.hostname)
  let response = ''
  socket.on('data', d => { response += d })
  const answered = new Promise<string>((resolve, reject) => {
    socket.on('end', () => resolve(response))
    socket.on('error', reject)
  })
  const half = Math.floor(body.length / 2)
  const sent = new Promise<void>(resolve => socket.once('connect', () => {
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`, () => resolve())
  }))
  return { sent, finish: () => socket.write(body.slice(half)), answered }
}

t.test('SIGTERM: readiness 503 first, in-flight requests finish, the process exits in bounded time', async t => {
  if (!await requirePostgres(t)) return
  const databaseUrl = await freshPostgresUrl(t)
  const { clientId } = await seedClientAndUser(await openDb(t, databaseUrl))
  const instance = await startInstance(t, 'A', clusterEnv(databaseUrl, { SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS) }))
  t.equal((await fetch(`${instance.url}/readyz`)).status, 200)

  // A device authorization whose body is still arriving when the signal comes.
  const inFlight = slowRequest(instance.url, '/oauth/device_authorization', form({ client_id: clientId, scope: 'openid profile' }))
  await inFlight.sent
  await new Promise(resolve => setTimeout(resolve, 200)) // the server has read the head: the request is in progress

  const signalled = Date.now()
  instance.child.kill('SIGTERM')
  let ready = 200
  for (let i = 0; i < 100 && ready === 200; i++) {
    ready = (await fetch(`${instance.url}/readyz`)).status
    if (ready === 200) await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(ready, 503, 'readiness answers 503 within moments of the signal')
  const readyz = await fetch(`${instance.url}/readyz`)
  t.same(await readyz.json(), { status: 'unavailable', reason: 'shutting down' })
  t.equal(readyz.headers.get('retry-after'), '5')
  // While draining, everything else is still served: the balancer may send a few more.
  t.equal((await fetch(`${instance.url}/healthz`)).status, 200, 'liveness still 200 (the process must not be restarted)')
  t.equal((await startFlow(instance.url, clientId)).status, 200, 'a new device authorization during the drain is served')
  t.ok(Date.now() - signalled < DRAIN_SECONDS * 1000, 'all of this inside the drain window')

  // After the drain the port closes; the request in flight still gets its answer.
  await new Promise(resolve => setTimeout(resolve, DRAIN_SECONDS * 1000 + 500))
  const refused = await fetch(`${instance.url}/healthz`).then(() => 'answered', () => 'refused')
  t.equal(refused, 'refused', 'after the drain, new connections are refused')
  inFlight.finish()
  const raw = await inFlight.answered
  t.match(raw, /^HTTP\/1\.1 200 /, 'the request in flight when the port closed was answered')
  t.match(raw, /"device_code":"[^"]+"/)

  const exit = await instance.exited
  const took = (Date.now() - signalled) / 1000
  t.equal(exit.code, 0, 'a clean exit')
  t.ok(took < DRAIN_SECONDS + 10, `exited ${took.toFixed(1)} s after SIGTERM (drain ${DRAIN_SECONDS} s + at most 10 s)`)
  t.match(instance.output(), '"signal":"SIGTERM"')
  t.match(instance.output(), 'draining: /readyz answers 503')
})

t.test('a request that never completes does not hold the exit past the bound', async t => {
  if (!await requirePostgres(t)) return
  const databaseUrl = await freshPostgresUrl(t)
  const { clientId } = await seedClientAndUser(await openDb(t, databaseUrl))
  const instance = await startInstance(t, 'A', clusterEnv(databaseUrl, { SHUTDOWN_DRAIN_SECONDS: '1' }))
  const stuck = slowRequest(instance.url, '/oauth/device_authorization', form({ client_id: clientId }))
  await stuck.sent
  stuck.answered.catch(() => {})
  await new Promise(resolve => setTimeout(resolve, 200))
  const signalled = Date.now()
  instance.child.kill('SIGTERM')
  const exit = await instance.exited
  const took = (Date.now() - signalled) / 1000
  t.ok(took >= 1 && took < 1 + 10 + 5, `exited ${took.toFixed(1)} s after SIGTERM although a request never finished (bound: drain 1 s + 10 s)`)
  t.not(exit.code, null, 'it exited by itself, not by a signal')
})
