// RFC 8628 §5.1 budgets under parallel guessing, through real HTTP on both databases:
// each attempt is reserved by one conditional upsert before the lookup, so guesses in
// flight cannot overshoot a budget (a check-then-count would let all 200 through).
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { addClient, listenTestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { HttpBrowser } from '../helpers/http-browser.js'
import { startDeviceFlow } from '../helpers/oauth.js'

// The default budgets: 5 per session, 10 per address, 20 for everyone not signed in.

/** Counts the user-code lookups the server makes: the guesses actually checked. */
function countLookups (app: FastifyInstance): () => number {
  const devices = app.codepair.storage.devices
  const original = devices.findByUserCodeHash.bind(devices)
  let n = 0
  devices.findByUserCodeHash = async (hash: string) => { n++; return await original(hash) }
  return () => n
}

async function counters (app: FastifyInstance): Promise<Record<string, number>> {
  const rows = await app.codepair.storage.db.attemptCounter.findMany({ where: { key: { startsWith: 'user-code:' } } })
  return Object.fromEntries(rows.map(r => [r.key, r.count]))
}

const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((a, s) => ({ ...a, [s]: (a[s] ?? 0) + 1 }), {})

async function setup (t: Test, databaseUrl: string) {
  const ctx = await listenTestApp(t, { databaseUrl, env: { TRUST_PROXY: 'true' } })
  const client = await addClient(ctx.app)
  const flow = await startDeviceFlow(ctx.app, client.id)
  return { ...ctx, flow, lookups: countLookups(ctx.app) }
}

await eachDatabase(t, '200 parallel wrong guesses from one address and one session are checked 5 times', async (t, databaseUrl) => {
  const { app, issuer, lookups, flow } = await setup(t, databaseUrl)
  const b = new HttpBrowser(issuer, '198.51.100.7')
  await b.get('/activate')
  const results = await Promise.all(Array.from({ length: 200 }, async () => await b.post('/activate', { user_code: 'BBBB-BBBB' })))
  t.same(tally(results.map(r => r.status)), { 400: 5, 429: 195 }, 'five answered "not recognised", the rest refused before any lookup')
  t.equal(lookups(), 5, 'the per-session budget of 5 bounds the lookups')
  const c = await counters(app)
  t.equal(Object.values(c).filter(n => n > 5).length, 0, `no counter past the session budget: ${JSON.stringify(c)}`)
  t.match(results.find(r => r.status === 429)?.body, /code entry is paused until \d\d:\d\d UTC/)
  t.equal((await b.post('/activate', { user_code: flow.user_code })).status, 429, 'the right code waits too once the budget is spent')
  t.equal(lookups(), 5)

  const person = new HttpBrowser(issuer, '198.51.100.8')
  await person.get('/activate')
  const before = await counters(app)
  t.equal((await person.post('/activate', { user_code: flow.user_code })).status, 303, 'a right code from elsewhere goes on to sign-in')
  const after = await counters(app)
  const fresh = Object.keys(after).filter(k => !(k in before))
  t.same(fresh.sort(), ['user-code:ip:198.51.100.8', fresh.find(k => k.startsWith('user-code:session:'))].sort(), 'its session and address counters were created')
  t.same(fresh.map(k => after[k]), [0, 0], 'and given back: a code that exists is not a wrong guess')
  t.equal(after['user-code:global'], before['user-code:global'], 'the global attempt was given back too')
})

await eachDatabase(t, '200 parallel wrong guesses from one address over 40 sessions are checked 10 times', async (t, databaseUrl) => {
  const { app, issuer, lookups } = await setup(t, databaseUrl)
  const sessions = await Promise.all(Array.from({ length: 40 }, async () => {
    const b = new HttpBrowser(issuer, '2001:db8:7:7::1')
    await b.get('/activate')
    return b
  }))
  const results = await Promise.all(sessions.flatMap(b => Array.from({ length: 5 }, async () => await b.post('/activate', { user_code: 'CCCC-CCCC' }))))
  t.same(tally(results.map(r => r.status)), { 400: 10, 429: 190 })
  t.equal(lookups(), 10, 'the per-address budget of 10 bounds the lookups')
  const c = await counters(app)
  t.equal(c['user-code:global'], 10, 'refused guesses gave their global attempt back (or never took one)')
  const sameSlash64 = new HttpBrowser(issuer, '2001:db8:7:7:ffff::2')
  await sameSlash64.get('/activate')
  t.equal((await sameSlash64.post('/activate', { user_code: 'CCCC-CCCC' })).status, 429, 'another address in the same IPv6 /64 shares the budget')
  const nextSlash64 = new HttpBrowser(issuer, '2001:db8:7:8::1')
  await nextSlash64.get('/activate')
  t.equal((await nextSlash64.post('/activate', { user_code: 'CCCC-CCCC' })).status, 400, 'the neighbouring /64 has its own')
})

await eachDatabase(t, '200 parallel wrong guesses from 200 addresses are checked 20 times (the anonymous budget)', async (t, databaseUrl) => {
  const { app, issuer, lookups } = await setup(t, databaseUrl)
  const visitors = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const b = new HttpBrowser(issuer, `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`)
    await b.get('/activate')
    return b
  }))
  const results = await Promise.all(visitors.map(async b => await b.post('/activate', { user_code: 'DDDD-DDDD' })))
  t.same(tally(results.map(r => r.status)), { 400: 20, 429: 180 })
  t.equal(lookups(), 20)
  t.equal((await counters(app))['user-code:global'], 20)
  t.match(results.find(r => r.status === 429)?.body, 'Sign in first, then enter your code', 'the others are asked to sign in first')
})
