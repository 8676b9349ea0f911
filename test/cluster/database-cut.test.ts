// PostgreSQL's connections cut mid-load under two instances (through the TCP proxy the
// outage test uses): while it is away every device-facing answer is 503 + Retry-After
// (never a final error that would end a device's flow), readiness fails, and when it
// returns the instances recover by themselves and every flow completes, once.
import t from 'tap'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import {
  clusterEnv, HttpBrowser, openDb, pollAt, seedClientAndUser, someAddress, startCluster, startFlow, type Answer
} from '../helpers/cluster.js'
import { sha256 } from '../../src/oauth/codes.js'

const DEVICES = 16
const sleep = async (ms: number) => await new Promise(resolve => setTimeout(resolve, ms))

t.test('PostgreSQL connections cut mid-load, then restored', async t => {
  if (!await requirePostgres(t)) return
  const direct = new URL(await freshPostgresUrl(t))
  const db = await openDb(t, direct.toString())
  const { clientId, username } = await seedClientAndUser(db)
  const proxy = new TcpProxy(Number(direct.port || 5432))
  await proxy.start()
  t.teardown(async () => { await proxy.stop() })
  const viaProxy = new URL(direct)
  viaProxy.port = String(proxy.port)
  const instances = await startCluster(t, 2, clusterEnv(viaProxy.toString(), { POLL_INTERVAL_SECONDS: '1', POLL_LEEWAY_MS: '200' }))

  // The even flows are approved before the cut and their devices start polling only when
  // it comes: those approvals must survive it. The odd ones poll all along and are
  // approved after the database is back.
  const flows: Array<{ deviceCode: string, userCode: string, ip: string }> = []
  for (let n = 0; n < DEVICES; n++) {
    const ip = someAddress()
    const res = await startFlow(instances[n % 2]!.url, clientId, ip)
    t.equal(res.status, 200)
    flows.push({ deviceCode: res.body.device_code, userCode: res.body.user_code, ip })
  }
  for (const [n, f] of flows.entries()) {
    if (n % 2 === 0) t.equal(await new HttpBrowser().decide(instances[(n + 1) % 2]!.url, f.userCode, username), 303)
  }

  /** A person approving right after the outage: a page that still fails (503) is opened again, as a person would. */
  async function approve (base: string, userCode: string): Promise<number> {
    let status = 0
    for (let attempt = 0; attempt < 20 && status !== 303; attempt++) {
      if (attempt > 0) await sleep(500)
      status = await new HttpBrowser().decide(base, userCode, username)
    }
    return status
  }

  let down = false
  let cut!: () => void
  const cutCame = new Promise<void>(resolve => { cut = resolve })
  const during: Answer[] = []
  const slowDuring: number[] = []
  async function device (n: number): Promise<{ tokens: number, unexpected: string[] }> {
    const f = flows[n]!
    const unexpected: string[] = []
    let tokens = 0
    let interval = 1
    let approving: Promise<number> | undefined
    if (n % 2 === 0) await cutCame
    const until = Date.now() + 90_000
    while (Date.now() < until && tokens === 0) {
      await sleep(interval * 1000 + 50 + Math.random() * 100)
      const wasDown = down
      const sent = Date.now()
      const res = await pollAt(instances[(n + tokens) % 2]!.url, clientId, f.deviceCode, f.ip)
      if (wasDown && down) during.push(res)
      else if (wasDown) slowDuring.push(Date.now() - sent)
      if (res.status === 200) tokens++
      else if (res.status === 503) interval = Number(res.headers.get('retry-after'))
      else if (res.body.error === 'slow_down') interval = res.body.interval
      else if (res.body.error !== 'authorization_pending') unexpected.push(`${res.status} ${JSON.stringify(res.body)}`)
      // The odd flows are approved after the database is back.
      if (n % 2 === 1 && !down && restored && approving === undefined) approving = approve(instances[n % 2]!.url, f.userCode)
    }
    if (approving !== undefined && await approving !== 303) unexpected.push('approval after the outage failed')
    return { tokens, unexpected }
  }

  let restored = false
  const running = flows.map(async (_, n) => await device(n))
  await sleep(1500)
  await proxy.stop()
  down = true
  cut()
  await sleep(1000)
  // A new device arriving during the outage, and readiness.
  const refused = await startFlow(instances[0]!.url, clientId, someAddress())
  t.equal(refused.status, 503, 'a device authorization during the outage: 503')
  t.equal(refused.body.error, 'temporarily_unavailable')
  t.ok(Number(refused.headers.get('retry-after')) >= 1, 'with Retry-After')
  for (const i of instances) t.equal((await fetch(`${i.url}/readyz`)).status, 503, `instance ${i.name} is not ready`)
  await sleep(2500)
  await proxy.start()
  down = false
  restored = true

  const outcomes = await Promise.all(running)
  t.same(outcomes.flatMap(o => o.unexpected), [], 'no device was told anything final while the database was away')
  // The even devices start polling at the cut, with a 1 s interval, and it lasts over 3 s.
  t.ok(during.length >= DEVICES / 2, `devices polled during the outage (${during.length} polls)`)
  t.ok(during.every(r => r.status === 503 && r.body.error === 'temporarily_unavailable' && Number(r.headers.get('retry-after')) >= 1),
    `every poll during the outage got 503 + Retry-After (${[...new Set(during.map(r => `${r.status} ${String(r.body.error)}`))].join(', ')})`)
  t.comment(`polls sent during the outage and answered after it: ${slowDuring.length} (${slowDuring.map(ms => `${ms} ms`).join(', ') || 'none'})`)
  t.ok(outcomes.every(o => o.tokens === 1), 'every flow completed once the database was back')
  for (const i of instances) t.equal((await fetch(`${i.url}/readyz`)).status, 200, `instance ${i.name} is ready again`)
  const rows = await db.deviceAuthorization.findMany({ where: { deviceCodeHash: { in: flows.map(f => sha256(f.deviceCode)) } } })
  t.ok(rows.length === DEVICES && rows.every(r => r.status === 'consumed' && r.revokedAt === null), 'every approval survived and was redeemed')
  t.equal(await db.auditEvent.count({ where: { type: 'token.issued' } }), DEVICES, 'each exactly once')
})
