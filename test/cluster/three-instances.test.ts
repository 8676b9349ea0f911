// Three codepair processes on one PostgreSQL database and one Redis, as an operator runs
// them behind a load balancer: every rule that must hold across instances is checked
// through real HTTP, each step on a different instance (README "PostgreSQL").
import t from 'tap'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { requireRedis, REDIS_URL } from '../helpers/services.js'
import {
  clusterEnv, HttpBrowser, openDb, pollAt, refreshAt, seedClientAndUser, someAddress, startCluster, startFlow, type Instance
} from '../helpers/cluster.js'
import { sha256 } from '../../src/oauth/codes.js'
import { PASSWORD } from '../helpers/app.js'

const RATE_PER_IP = 4

t.test('three instances on one database', async t => {
  if (!await requirePostgres(t) || !await requireRedis(t)) return
  const databaseUrl = await freshPostgresUrl(t)
  const db = await openDb(t, databaseUrl)
  const { clientId, username } = await seedClientAndUser(db)
  const env = clusterEnv(databaseUrl, {
    POLL_INTERVAL_SECONDS: '1',
    POLL_LEEWAY_MS: '0',
    DEVICE_AUTHORIZATION_RATE_PER_IP: String(RATE_PER_IP),
    RATE_LIMIT_REDIS_URL: REDIS_URL,
    USER_CODE_FAILURES_PER_SESSION: '3',
    USER_CODE_FAILURES_PER_IP: '5',
    USER_CODE_FAILURES_GLOBAL: '8'
  })
  const [a, b, c] = await startCluster(t, 3, env) as [Instance, Instance, Instance]
  const all = [a, b, c]
  const byUrl = new Map(all.map(i => [i.url, i.name]))
  t.equal(new Set(all.map(i => i.url)).size, 3, `three processes on three ports (${[...byUrl.keys()].join(', ')})`)

  const flow = async (on: Instance, extra: Record<string, string> = {}) => {
    const res = await startFlow(on.url, clientId, someAddress(), extra)
    if (res.status !== 200) throw new Error(`device authorization on ${on.name}: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body as { device_code: string, user_code: string, interval: number }
  }
  const row = async (deviceCode: string) => await db.deviceAuthorization.findUniqueOrThrow({ where: { deviceCodeHash: sha256(deviceCode) } })

  await t.test('a code issued by A, approved through B\'s pages, polled on C', async t => {
    const f = await flow(a)
    t.equal((await pollAt(c.url, clientId, f.device_code)).body.error, 'authorization_pending', 'C knows the code A issued')
    t.equal(await new HttpBrowser().decide(b.url, f.user_code, username), 303, 'B\'s pages find it, sign the person in and record the approval')
    await new Promise(resolve => setTimeout(resolve, 1100)) // the 1 s interval since C's poll
    const tokens = await pollAt(c.url, clientId, f.device_code)
    t.equal(tokens.status, 200, JSON.stringify(tokens.body))
    t.type(tokens.body.access_token, 'string')
    const me = await fetch(`${a.url}/api/me`, { headers: { authorization: `Bearer ${tokens.body.access_token as string}` } })
    t.equal(me.status, 200, 'A accepts the access token C signed (one key set in the database)')
  })

  await t.test('slow_down is one rule across instances: the interval lives in the database', async t => {
    const f = await flow(b)
    t.equal((await pollAt(a.url, clientId, f.device_code)).body.error, 'authorization_pending', 'the first poll is never throttled')
    const onB = await pollAt(b.url, clientId, f.device_code)
    const onC = await pollAt(c.url, clientId, f.device_code)
    t.same([onB.body.error, onB.body.interval], ['slow_down', 6], 'B sees A\'s poll: too early, +5 s')
    t.same([onC.body.error, onC.body.interval], ['slow_down', 11], 'C sees both: +5 s more')
    t.equal((await row(f.device_code)).intervalSeconds, 11)
  })

  await t.test('50 concurrent polls of one approved code spread over the three: exactly one 200', async t => {
    const f = await flow(c)
    t.equal(await new HttpBrowser().decide(a.url, f.user_code, username), 303)
    const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => ({ on: all[i % 3]!.name, res: await pollAt(all[i % 3]!.url, clientId, f.device_code) })))
    const ok = results.filter(r => r.res.status === 200)
    t.equal(ok.length, 1, `one poll receives tokens (on ${ok.map(r => r.on).join(', ')})`)
    const refused = results.filter(r => r.res.status !== 200)
    t.ok(refused.every(r => r.res.status === 400 && ['slow_down', 'invalid_grant'].includes(r.res.body.error)), `the others are refused (${[...new Set(refused.map(r => `${r.res.status} ${String(r.res.body.error)}`))].join(', ')})`)
    const rec = await row(f.device_code)
    t.equal(rec.status, 'consumed')
    t.equal(await db.auditEvent.count({ where: { type: 'token.issued', detail: { contains: rec.id } } }), 1, 'one grant written')
    t.equal(rec.intervalSeconds, 1 + 5 * refused.filter(r => r.res.body.error === 'slow_down').length, 'every slow_down answer was persisted')
    // A poll that lost to one accepted a moment earlier is slow_down and changes nothing;
    // one whose statement ran after the redemption committed presented a used code: a
    // replay by the README's rule (Security notes, "Single use"), which revokes the grant.
    // Across three processes both happen, so the grant stands exactly when no poll came late.
    const late = refused.filter(r => r.res.body.error === 'invalid_grant')
    t.equal(rec.revokedAt !== null, late.length > 0,
      `revoked only because of polls after the redemption (${late.length} came after it, ${refused.length - late.length} lost before it)`)
  })

  await t.test('refresh rotation and reuse detection hold across instances', async t => {
    const f = await flow(a, { scope: 'openid offline_access' })
    t.equal(await new HttpBrowser().decide(b.url, f.user_code, username), 303)
    const first = await pollAt(c.url, clientId, f.device_code)
    t.equal(first.status, 200)
    const rt0 = first.body.refresh_token as string
    const r1 = await refreshAt(a.url, clientId, rt0)
    t.equal(r1.status, 200, 'rotated on A')
    const r2 = await refreshAt(b.url, clientId, r1.body.refresh_token as string)
    t.equal(r2.status, 200, 'rotated again on B')
    const replay = await refreshAt(c.url, clientId, rt0)
    t.equal(replay.body.error, 'invalid_grant', 'C sees the first token was rotated: a replay')
    t.equal((await refreshAt(a.url, clientId, r2.body.refresh_token as string)).body.error, 'invalid_grant', 'the replay on C ended the family on A too')
    const family = await db.refreshToken.findMany({ where: { tokenHash: sha256(rt0) } })
    const live = await db.refreshToken.count({ where: { familyId: family[0]!.familyId, rotatedAt: null, revokedAt: null } })
    t.equal(live, 0, 'no live token left in the family')

    // Concurrent refreshes of one token on all three: the family never forks.
    const g = await flow(b, { scope: 'openid offline_access' })
    t.equal(await new HttpBrowser().decide(c.url, g.user_code, username), 303)
    const tokens = await pollAt(a.url, clientId, g.device_code)
    const rt = tokens.body.refresh_token as string
    const raced = await Promise.all(Array.from({ length: 12 }, async (_, i) => await refreshAt(all[i % 3]!.url, clientId, rt)))
    t.ok(raced.filter(r => r.status === 200).length <= 1, `at most one rotation wins (${raced.map(r => r.status).join(' ')})`)
    t.ok(raced.every(r => r.status === 200 || r.body.error === 'invalid_grant'), 'the rest are refused, none fail')
    const familyId = (await db.refreshToken.findFirstOrThrow({ where: { tokenHash: sha256(rt) } })).familyId
    t.ok(await db.refreshToken.count({ where: { familyId, rotatedAt: null, revokedAt: null } }) <= 1, 'at most one live token in the family')
  })

  await t.test('the per-address limit (Redis) is one budget across instances', async t => {
    const ip = someAddress()
    const codes: number[] = []
    for (let i = 0; i < RATE_PER_IP + 2; i++) codes.push((await startFlow(all[i % 3]!.url, clientId, ip)).status)
    t.same(codes, [...Array(RATE_PER_IP).fill(200), 429, 429], `${RATE_PER_IP} requests over A, B, C, then 429 wherever (from ${ip})`)
    t.equal((await startFlow(c.url, clientId, someAddress())).status, 200, 'another address is unaffected')
  })

  // Last: it spends the anonymous budget, after which code entry asks people to sign in first.
  await t.test('user-code guess budgets are counted in the database, across instances', async t => {
    const ip = someAddress()
    const wrong = 'BCDF-GHJK'
    const first = new HttpBrowser(ip)
    const perSession: number[] = []
    for (let i = 0; i < 4; i++) perSession.push((await first.enterCode(all[i % 3]!.url, wrong)).status)
    t.same(perSession, [400, 400, 400, 429], 'the session\'s 3 wrong codes on A, B, C, then paused (on A)')
    const second = new HttpBrowser(ip)
    const perIp: number[] = []
    for (let i = 0; i < 3; i++) perIp.push((await second.enterCode(all[(i + 1) % 3]!.url, wrong)).status)
    t.same(perIp, [400, 400, 429], 'a new session from the same address: 5 per address in all')
    const third = new HttpBrowser(someAddress())
    const global: number[] = []
    for (let i = 0; i < 4; i++) global.push((await third.enterCode(all[(i + 2) % 3]!.url, wrong)).status)
    t.same(global, [400, 400, 400, 429], 'another address: the global budget of 8 runs out after 3 more')
    const f = await flow(a)
    // RFC 8628 §5.1 without pausing everyone: anonymous entry now asks for sign-in first, on
    // every instance; a signed-in person enters the code on their account's budget.
    const person = new HttpBrowser(someAddress())
    const paused = await person.get(b.url, `/activate?user_code=${encodeURIComponent(f.user_code)}`)
    t.match(paused.body, 'Sign in first, then enter your code', 'B: anonymous entry is paused, sign in first')
    await person.get(c.url, '/login')
    t.equal((await person.post(c.url, '/login', { username, password: PASSWORD })).status, 303, 'signed in on C')
    t.equal((await person.get(a.url, '/activate')).status, 200, 'A: the code form again, now signed in')
    const entered = await person.post(a.url, '/activate', { user_code: f.user_code })
    t.equal(entered.status, 303, 'A: signed in, the right code goes through while anonymous entry is paused')
  })
})
