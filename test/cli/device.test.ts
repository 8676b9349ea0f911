// `codepair device` against a listening codepair: shows the code, polls, calls /api/me.
import { spawn } from 'node:child_process'
import t from 'tap'
import { spawnWatched } from '../helpers/cli.js'
import { addClient, addUser, listenTestApp } from '../helpers/app.js'
import { systemClockTest } from '../helpers/clock.js'

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname

async function simulate (t: any, decision: 'approved' | 'denied') {
  const { app, issuer } = await listenTestApp(t, { env: { POLL_INTERVAL_SECONDS: '1' }, clock: systemClockTest() })
  const client = await addClient(app)
  const user = await addUser(app)
  const sim = spawnWatched([BIN, 'device', '--client', client.id, '--issuer', issuer, '--scope', 'openid profile'])
  t.teardown(() => { sim.child.kill('SIGKILL') })
  await sim.waitFor(/waiting for approval/)
  const rec = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  await app.codepair.storage.devices.decide(rec.id, decision, user.id, new Date())
  const code = await sim.exited
  return { code, out: sim.output(), rec, user, client }
}

t.test('approved: exit 0 and the identity from /api/me', async t => {
  const { code, out, user, client } = await simulate(t, 'approved')
  t.equal(code, 0, out)
  t.match(out, /To connect this device, visit\n\n {4}http:\/\/127\.0\.0\.1:\d+\/activate/)
  t.match(out, /\n {4}[A-Z]{4}-[A-Z]{4}\n/, 'the code, plainly')
  t.match(out, 'or scan this with your phone')
  t.match(out, '▄', 'a QR code drawn in the terminal')
  t.match(out, /expires in \d+:\d\d/, 'a countdown')
  t.match(out, `"sub": "${user.id}"`)
  t.match(out, 'Approved by Alice Example (alice).', 'who approved, by name (the profile scope)')
  t.match(out, '"preferred_username": "alice"')
  t.match(out, `"client_id": "${client.id}"`)
  t.notMatch(out, 'device_code', 'the device code is never shown')
})

t.test('denied: exit 10', async t => {
  const { code, out } = await simulate(t, 'denied')
  t.equal(code, 10)
  t.match(out, 'The request was denied')
})

t.test('usage errors', async t => {
  const r = await new Promise<{ code: number | null, err: string }>(resolve => {
    const c = spawn(process.execPath, [BIN, 'device'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    c.stderr.on('data', d => { err += d })
    c.on('close', code => resolve({ code, err }))
  })
  t.equal(r.code, 2)
  t.match(r.err, '--client is required')
})
