// The packaged server and CLI: webhooks made with `codepair webhook`, a server killed in
// the middle of a delivery (SIGKILL: its lease lapses) and one stopped gracefully in the
// middle of another (SIGTERM: its lease is handed back) — after a restart both arrive,
// with their original webhook-id, and nothing is lost.
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { cli, spawnWatched, type Watched } from '../helpers/cli.js'
import { TEST_SECRET, testPort } from '../helpers/app.js'
import { freshSqliteUrl } from '../helpers/db.js'
import { startReceiver, typeOf } from '../helpers/webhook-receiver.js'

const SERVER = new URL('../../dist/server.js', import.meta.url).pathname

t.test('a restart in the middle of a delivery loses nothing', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const receiver = await startReceiver(t)
  const port = String(testPort())
  const env = () => ({
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: port,
    LOG_LEVEL: 'info',
    WEBHOOK_POLL_MS: '100',
    WEBHOOK_TIMEOUT_MS: '2000' // lease: 2 s + 5 s
  })
  // The CLI seals the webhook secret with a key from SECRET_KEY; the server must have the same.
  const previous = process.env.SECRET_KEY
  process.env.SECRET_KEY = TEST_SECRET
  t.teardown(() => { if (previous === undefined) delete process.env.SECRET_KEY; else process.env.SECRET_KEY = previous })
  const admin = async (args: string[]) => {
    const r = await cli(databaseUrl, [...args, '--json'], undefined, t.testdirName)
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const client = await admin(['client', 'create', '--name', 'TV'])
  const hook = await admin(['webhook', 'create', '--url', receiver.url, '--events', 'device.code_issued', '--description', 'restart test'])
  t.match(hook, { id: /^wh_/, url: receiver.url, events: ['device.code_issued'], enabled: true, secret: /^whsec_/ })

  let server: Watched | undefined
  const start = async () => {
    server = spawnWatched([SERVER], env())
    const s = server
    t.teardown(() => { s.child.kill('SIGKILL') })
    await s.waitFor('codepair is ready')
    return s
  }
  const pair = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${client.client_id}` })
    t.equal(res.status, 200)
  }

  // 1. SIGKILL while the receiver holds the delivery open.
  receiver.answer = () => 'hang'
  let s = await start()
  await pair()
  await receiver.waitFor(r => r.length === 1, 'the first attempt')
  s.child.kill('SIGKILL')
  await s.exited
  receiver.release(500) // the connection is gone; nobody reads this
  receiver.answer = () => 204
  s = await start()
  await receiver.waitFor(r => r.length === 2, 'the delivery again after the lease lapsed', 90_000)
  t.equal(receiver.received[1]!.headers['webhook-id'], receiver.received[0]!.headers['webhook-id'], 'same event, same webhook-id')

  // 2. SIGTERM while the receiver holds another delivery open.
  receiver.answer = () => 'hang'
  await pair()
  await receiver.waitFor(r => r.length === 3, 'the second event')
  s.child.kill('SIGTERM')
  t.equal(await s.exited, 0, 'a graceful stop, not held up by the delivery')
  receiver.answer = () => 204
  s = await start()
  await receiver.waitFor(r => r.length === 4, 'the second event again after the restart')
  t.equal(receiver.received[3]!.headers['webhook-id'], receiver.received[2]!.headers['webhook-id'])

  const verifier = new Webhook(hook.secret)
  for (const r of receiver.received) t.doesNotThrow(() => verifier.verify(r.body, r.headers as Record<string, string>), 'signed with the secret the CLI showed')
  t.same(receiver.received.map(typeOf), Array(4).fill('device.code_issued'))

  // Both delivered; the attempt abandoned by the graceful stop was handed back uncounted.
  let deliveries: Array<Record<string, unknown>> = []
  for (let i = 0; i < 50; i++) {
    deliveries = await admin(['webhook', 'deliveries', hook.id])
    if (deliveries.every(d => d.status === 'delivered')) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.match(deliveries, [{ status: 'delivered', attempts: 1, lastStatus: 204 }, { status: 'delivered', attempts: 2, lastStatus: 204 }])
  s.child.kill('SIGTERM')
  await s.exited
})

t.test('codepair webhook: list, disable, enable, deliveries; bad input exits 2, unknown ids 3', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const run = async (args: string[]) => await cli(databaseUrl, args, undefined, t.testdirName)
  const created = await run(['webhook', 'create', '--url', 'https://hooks.example.com/in', '--events', 'device.approved,device.denied'])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /Webhook created[\s\S]*secret: +whsec_[\s\S]*shown only once/)
  const id = /id: +(wh_\S+)/.exec(created.stdout)?.[1] ?? ''
  t.match((await run(['webhook', 'list'])).stdout, new RegExp(`${id} +https://hooks.example.com/in +true +device.approved device.denied`))
  t.equal((await run(['webhook', 'disable', id])).code, 0)
  t.match(JSON.parse((await run(['webhook', 'list', '--json'])).stdout), [{ id, enabled: false, events: ['device.approved', 'device.denied'] }])
  t.notOk((await run(['webhook', 'list', '--json'])).stdout.includes('whsec_'), 'the secret is never shown again')
  t.equal((await run(['webhook', 'enable', id])).code, 0)
  t.equal((await run(['webhook', 'deliveries', id])).stdout, '(none)\n')

  for (const [args, message] of [
    [['webhook', 'create', '--url', 'ftp://x.example', '--events', 'device.approved'], '--url must be an http(s) URL'],
    [['webhook', 'create', '--url', 'https://x.example', '--events', 'device.aproved'], '--events: unknown event device.aproved'],
    [['webhook', 'create', '--url', 'https://user:pw@x.example', '--events', '*'], 'must not carry a user name or password'],
    [['webhook', 'create', '--events', '*'], '--url is required'],
    [['webhook', 'deliveries', id, '--status', 'lost'], '--status must be one of pending, delivered, dead'],
    [['webhook', 'deliveries', id, '--limit', '0'], '--limit must be a whole number from 1 to 1000']
  ] as const) {
    const r = await run([...args])
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, message)
  }
  const missing = await run(['webhook', 'deliveries', 'wh_nope'])
  t.equal(missing.code, 3)
  t.match(missing.stderr, 'no webhook "wh_nope"')
  const dev = await cli(databaseUrl, ['webhook', 'create', '--url', 'http://hooks.example.com/in', '--events', '*'], undefined, t.testdirName)
  t.equal(dev.code, 0, 'http is allowed in development mode')
})
