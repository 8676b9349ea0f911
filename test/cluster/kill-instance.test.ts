// kill -9 of one of three instances while devices start flows, people approve them and
// devices poll and refresh on every instance (a load balancer sends each request to a
// live instance; a request whose connection dies is sent again elsewhere). Afterwards,
// from the database and from what every device received: no approval lost, nothing
// redeemed twice, no refresh family forked, and every pending flow completed on the
// survivors.
import t from 'tap'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import {
  clusterEnv, HttpBrowser, openDb, pollAt, refreshAt, seedClientAndUser, someAddress, startCluster, startFlow, type Answer, type Instance
} from '../helpers/cluster.js'
import { sha256 } from '../../src/oauth/codes.js'

const DEVICES = 24
const sleep = async (ms: number) => await new Promise(resolve => setTimeout(resolve, ms))

t.test('kill -9 of an instance under load', async t => {
  if (!await requirePostgres(t)) return
  const databaseUrl = await freshPostgresUrl(t)
  const db = await openDb(t, databaseUrl)
  const { clientId, username } = await seedClientAndUser(db)
  const instances = await startCluster(t, 3, clusterEnv(databaseUrl, {
    POLL_INTERVAL_SECONDS: '1',
    POLL_LEEWAY_MS: '200',
    // A refresh whose answer died with the victim is sent again with the same token: the
    // grace window answers that retry (RFC 9700 §4.14 "concurrent refresh") instead of
    // taking it for a replay.
    REFRESH_TOKEN_REUSE_GRACE_SECONDS: '30'
  }))
  const victim = instances[1]!
  let killed = false
  const live = () => instances.filter(i => !(killed && i === victim))
  let turn = 0
  const pick = () => { const l = live(); return l[turn++ % l.length]! }

  /**
   * One request through the "load balancer": a connection that fails (the killed
   * instance) is retried on another. `lost` records requests that may have reached the
   * victim and done their work before it died (the answer never came back).
   */
  const lost: string[] = []
  async function send (what: string, fn: (on: Instance) => Promise<Answer>): Promise<Answer> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const on = pick()
      try {
        return await fn(on)
      } catch (err) {
        if (on === victim) lost.push(what)
        else throw err
      }
    }
    throw new Error(`${what}: no instance answered`)
  }

  interface Outcome { deviceCode: string, tokens: number, refreshed: number, lostRedemption: boolean, error?: string }
  async function device (n: number): Promise<Outcome> {
    const ip = someAddress()
    const started = await send(`start ${n}`, async on => await startFlow(on.url, clientId, ip, { scope: 'openid offline_access' }))
    if (started.status !== 200) throw new Error(`device ${n}: ${started.status} ${JSON.stringify(started.body)}`)
    const { device_code: deviceCode, user_code: userCode } = started.body as { device_code: string, user_code: string }
    const outcome: Outcome = { deviceCode, tokens: 0, refreshed: 0, lostRedemption: false }

    // The person approves on some instance; a page whose instance died is opened again elsewhere.
    const person = (async () => {
      await sleep(200 + Math.random() * 1500)
      for (let attempt = 0; attempt < 5; attempt++) {
        const on = pick()
        try {
          const status = await new HttpBrowser(someAddress()).decide(on.url, userCode, username)
          if (status === 303) return
          // Refused: it may be that the dead instance recorded the approval before dying.
          const rec = await db.deviceAuthorization.findUniqueOrThrow({ where: { deviceCodeHash: sha256(deviceCode) } })
          if (rec.status !== 'pending') return
        } catch (err) {
          if (on !== victim) throw err
        }
      }
      throw new Error(`device ${n}: could not be approved`)
    })()

    let interval = 1
    const until = Date.now() + 90_000
    while (Date.now() < until) {
      await sleep(interval * 1000 + 50)
      const polled = await send(`poll ${n}`, async on => await pollAt(on.url, clientId, deviceCode, ip))
      if (polled.status === 200) {
        outcome.tokens++
        // Two rotations, each on whichever instance the balancer picks.
        let rt = polled.body.refresh_token as string
        for (let i = 0; i < 2; i++) {
          const r = await send(`refresh ${n}`, async on => await refreshAt(on.url, clientId, rt, ip))
          if (r.status !== 200) { outcome.error = `refresh: ${r.status} ${JSON.stringify(r.body)}`; break }
          rt = r.body.refresh_token as string
          outcome.refreshed++
        }
        break
      }
      if (polled.body.error === 'slow_down') interval = polled.body.interval as number
      else if (polled.body.error === 'invalid_grant' && lost.includes(`poll ${n}`)) { outcome.lostRedemption = true; break }
      else if (polled.status === 503) interval = Number(polled.headers.get('retry-after') ?? 1)
      else if (polled.body.error !== 'authorization_pending') { outcome.error = `poll: ${polled.status} ${JSON.stringify(polled.body)}`; break }
    }
    await person
    return outcome
  }

  // Devices arrive over ~3 s; the victim dies in the middle of it all.
  const running = Array.from({ length: DEVICES }, async (_, n) => { await sleep(n * 120); return await device(n) })
  await sleep(2500)
  victim.child.kill('SIGKILL')
  killed = true
  const gone = await victim.exited
  t.equal(gone.signal, 'SIGKILL', 'the victim was killed mid-load')
  const outcomes = await Promise.all(running)

  t.same(outcomes.filter(o => o.error !== undefined).map(o => o.error), [], 'no device saw an unexpected error')
  const lostRedemptions = outcomes.filter(o => o.lostRedemption).length
  t.equal(outcomes.filter(o => o.tokens === 1).length + lostRedemptions, DEVICES,
    `every device got its tokens on a survivor (${lostRedemptions} redemption(s) were answered by the victim as it died)`)
  t.ok(outcomes.every(o => o.tokens <= 1), 'no device received tokens twice')
  t.ok(lostRedemptions <= 3, 'only requests in flight at the kill can be lost')

  // The database's view.
  const rows = await db.deviceAuthorization.findMany({ where: { deviceCodeHash: { in: outcomes.map(o => sha256(o.deviceCode)) } } })
  t.equal(rows.length, DEVICES, 'every authorization started is stored')
  t.ok(rows.every(r => r.status === 'consumed' && r.userId !== null), 'every one was approved and redeemed: no approval lost')
  const issued = await db.auditEvent.findMany({ where: { type: 'token.issued' } })
  for (const r of rows) {
    const n = issued.filter(e => e.detail?.includes(r.id) === true).length
    if (n !== 1) t.fail(`grant ${r.id} issued ${n} times`)
  }
  t.equal(issued.length, DEVICES, 'each code redeemed exactly once')
  const families = await db.refreshToken.groupBy({ by: ['familyId'], where: { rotatedAt: null, revokedAt: null }, _count: true })
  t.ok(families.every(f => f._count === 1), `no family has two live tokens (${families.length} live families)`)
  const refreshed = outcomes.filter(o => o.refreshed === 2).length
  t.equal(refreshed, DEVICES - lostRedemptions, 'every device with tokens rotated its refresh token twice, through the kill (a lost answer retried within the grace window)')
  t.comment(`requests that reached the victim as it died: ${lost.length} (${[...new Set(lost.map(l => l.split(' ')[0]))].join(', ') || 'none'})`)
})
