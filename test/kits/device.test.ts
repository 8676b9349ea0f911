// The device kit against a running codepair: polling rules, typed outcomes, token upkeep.
import { mkdtempSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  AccessDeniedError, DeviceClient, DeviceCodeExpiredError, DeviceSession, FileTokenStore, MemoryTokenStore,
  NetworkError, PairingRequiredError, type PollState
} from '../../src/kits/device/index.js'
import { sha256 } from '../../src/oauth/codes.js'
import { addClient, addUser, listenTestApp } from '../helpers/app.js'

async function setup (t: any, env: Record<string, string> = {}) {
  const ctx = await listenTestApp(t, { env })
  const client = await addClient(ctx.app)
  const user = await addUser(ctx.app)
  const waits: number[] = []
  let onSleep: (ms: number, n: number) => void | Promise<void> = ms => { ctx.clock.advance(ms / 1000) }
  const fetches: string[] = []
  let fetchHook: ((url: string) => Response | undefined) | undefined
  const kit = await DeviceClient.discover({
    issuer: ctx.issuer,
    clientId: client.id,
    now: ctx.clock.now,
    sleep: async (ms) => { waits.push(ms); await onSleep(ms, waits.length) },
    fetch: async (input, init) => {
      fetches.push(String(input))
      const fake = fetchHook?.(String(input))
      return fake ?? await fetch(input, init)
    }
  })
  const decide = async (deviceCode: string, status: 'approved' | 'denied') => {
    const rec = await ctx.app.codepair.storage.devices.findByDeviceCodeHash(sha256(deviceCode))
    if (rec === null) throw new Error('no such code')
    await ctx.app.codepair.storage.devices.decide(rec.id, status, user.id, new Date(ctx.clock.ms))
  }
  return {
    ...ctx,
    client,
    user,
    kit,
    waits,
    fetches,
    decide,
    setSleep: (f: typeof onSleep) => { onSleep = f },
    setFetchHook: (f: typeof fetchHook) => { fetchHook = f }
  }
}

t.test('discovery and a device authorization', async t => {
  const { kit, issuer } = await setup(t)
  t.equal(kit.metadata.token_endpoint, `${issuer}/oauth/token`)
  const auth = await kit.start({ scope: 'openid profile' })
  t.match(auth.userCode, /^[A-Z]{4}-[A-Z]{4}$/)
  t.equal(auth.interval, 5)
  t.match(auth.qrCodeUri, new RegExp(`^${issuer}/qr/[0-9a-f-]{36}\\.svg\\?user_code=`))
  await t.rejects(DeviceClient.discover({ issuer: 'http://127.0.0.1:1', clientId: 'x' }), NetworkError)
})

t.test('pending, then approved: polls at the interval and returns tokens', async t => {
  const { kit, waits, decide, setSleep, clock } = await setup(t)
  const auth = await kit.start({ scope: 'openid profile offline_access' })
  const states: PollState[] = []
  setSleep(async (ms, n) => { clock.advance(ms / 1000); if (n === 3) await decide(auth.deviceCode, 'approved') })
  const tokens = await kit.poll(auth, { onProgress: s => states.push(s) })
  t.type(tokens.accessToken, 'string')
  t.type(tokens.refreshToken, 'string')
  t.type(tokens.idToken, 'string')
  t.same(states.map(s => s.state), ['pending', 'pending'])
  t.same(waits, [5000, 5000, 5000])
})

t.test('slow_down adds 5 s to this and every later poll', async t => {
  const { kit, waits, decide, setSleep, clock } = await setup(t)
  const auth = await kit.start()
  const states: PollState[] = []
  // The first two sleeps are cut short (a device that polls too fast), then honest.
  setSleep(async (ms, n) => {
    clock.advance(n <= 2 ? 1 : ms / 1000)
    if (n === 4) await decide(auth.deviceCode, 'approved')
  })
  const tokens = await kit.poll(auth, { onProgress: s => states.push(s) })
  t.type(tokens.accessToken, 'string')
  t.same(states.map(s => [s.state, 'interval' in s ? s.interval : 0]), [['pending', 5], ['slow_down', 10], ['pending', 10]])
  t.same(waits, [5000, 5000, 10000, 10000])
})

t.test('denial and expiry end with typed errors', async t => {
  const { kit, decide, setSleep, clock } = await setup(t)
  const denied = await kit.start()
  setSleep(async ms => { clock.advance(ms / 1000); await decide(denied.deviceCode, 'denied') })
  await t.rejects(kit.poll(denied), AccessDeniedError)

  const expiring = await kit.start()
  setSleep(ms => { clock.advance(ms / 1000 + 300) })
  await t.rejects(kit.poll(expiring), DeviceCodeExpiredError, 'the kit notices the expiry itself')

  // A device whose own clock lags: the server says expired_token.
  const lagging = await DeviceClient.discover({ issuer: kit.options.issuer, clientId: kit.options.clientId, sleep: async () => { clock.advance(700) } })
  const auth = await lagging.start()
  const err = await lagging.poll(auth).then(() => null, (e: unknown) => e)
  t.ok(err instanceof DeviceCodeExpiredError)
  t.equal((err as DeviceCodeExpiredError).error, 'expired_token')
})

t.test('503 with Retry-After and network errors: keep polling', async t => {
  const { kit, waits, decide, setSleep, setFetchHook, clock } = await setup(t)
  const auth = await kit.start()
  let tokenCalls = 0
  setFetchHook(url => {
    if (!url.endsWith('/oauth/token')) return undefined
    tokenCalls++
    if (tokenCalls === 1) return new Response(JSON.stringify({ error: 'temporarily_unavailable' }), { status: 503, headers: { 'retry-after': '7' } })
    if (tokenCalls === 2) throw new TypeError('fetch failed')
    return undefined
  })
  const states: PollState[] = []
  setSleep(async (ms, n) => { clock.advance(ms / 1000); if (n === 3) await decide(auth.deviceCode, 'approved') })
  const tokens = await kit.poll(auth, { onProgress: s => states.push(s) })
  t.type(tokens.accessToken, 'string')
  t.same(states.map(s => s.state), ['unavailable', 'unavailable'])
  t.same(waits, [5000, 7000, 5000], 'Retry-After is honoured')
})

t.test('an AbortSignal stops polling', async t => {
  const { issuer, client } = await setup(t)
  const kit = await DeviceClient.discover({ issuer, clientId: client.id })
  const auth = await kit.start()
  const controller = new AbortController()
  setTimeout(() => controller.abort(new Error('user cancelled')), 50)
  await t.rejects(kit.poll(auth, { signal: controller.signal }), { message: 'user cancelled' })
})

t.test('DeviceSession: refresh before expiry, rotate the stored token, retry after a 401, pair again when dead', async t => {
  const { kit, decide, setSleep, clock, issuer, fetches } = await setup(t)
  const auth = await kit.start({ scope: 'openid profile offline_access' })
  setSleep(async ms => { clock.advance(ms / 1000); await decide(auth.deviceCode, 'approved') })
  const store = new MemoryTokenStore()
  const session = new DeviceSession(kit, store, { now: clock.now })
  await session.begin(await kit.poll(auth))
  const first = await store.load()

  t.equal(await session.accessToken(), first?.accessToken, 'fresh tokens are used as they are')
  clock.advance(3600 - 30) // inside the 60 s skew
  const refreshed = await session.accessToken()
  t.not(refreshed, first?.accessToken, 'refreshed shortly before expiry')
  const second = await store.load()
  t.not(second?.refreshToken, first?.refreshToken, 'the rotated refresh token is stored')

  const me = await session.fetch(`${issuer}/api/me`)
  t.equal(me.status, 200)

  // The server's clock runs ahead: it sees the token as expired, answers 401; the session refreshes once and retries.
  const lagging = new DeviceSession(kit, store, { now: () => clock.ms - 7200 * 1000 })
  clock.advance(3700)
  const before = fetches.filter(f => f.endsWith('/oauth/token')).length
  const retried = await lagging.fetch(`${issuer}/api/me`)
  t.equal(retried.status, 200)
  t.equal(fetches.filter(f => f.endsWith('/oauth/token')).length - before, 1, 'one refresh')

  // Concurrent callers share one refresh (two would look like reuse).
  clock.advance(3700)
  const n = fetches.filter(f => f.endsWith('/oauth/token')).length
  const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()])
  t.equal(new Set(tokens).size, 1)
  t.equal(fetches.filter(f => f.endsWith('/oauth/token')).length - n, 1)

  // Revoked on the server (the person removed the device): pair again.
  await kit.revoke((await store.load())?.refreshToken ?? '')
  clock.advance(3700)
  await t.rejects(session.accessToken(), PairingRequiredError)
  t.equal(await store.load(), null, 'the dead tokens are forgotten')
  await t.rejects(session.accessToken(), PairingRequiredError, 'and stay forgotten')
})

t.test("endpoints: 'device-authorize' asks at /oauth/device and polls /oauth/device/authorize with auth_code", async t => {
  const { issuer, client, clock, decide } = await setup(t)
  const sent: Array<{ url: string, body: URLSearchParams }> = []
  let sleeps = 0
  let auth: Awaited<ReturnType<DeviceClient['start']>> | undefined
  const kit = await DeviceClient.discover({
    issuer,
    clientId: client.id,
    endpoints: 'device-authorize',
    now: clock.now,
    // The second wait is cut short (too fast: slow_down), the person approves during the third.
    sleep: async ms => {
      sleeps++
      clock.advance(sleeps === 2 ? 1 : ms / 1000)
      if (sleeps === 3 && auth !== undefined) await decide(auth.deviceCode, 'approved')
    },
    fetch: async (input, init) => {
      sent.push({ url: String(input), body: new URLSearchParams(String(init?.body ?? '')) })
      return await fetch(input, init)
    }
  })
  auth = await kit.start({ scope: 'openid profile' })
  const states: PollState[] = []
  const tokens = await kit.poll(auth, { onProgress: s => states.push(s) })
  t.type(tokens.accessToken, 'string')
  t.same(states.map(s => s.state), ['pending', 'slow_down'], 'the same polling rules')
  const posts = sent.filter(s => !s.url.includes('/.well-known/'))
  t.same(posts.map(p => p.url.slice(issuer.length)), ['/oauth/device', '/oauth/device/authorize', '/oauth/device/authorize', '/oauth/device/authorize'])
  for (const p of posts.slice(1)) {
    t.equal(p.body.get('auth_code'), auth.userCode, 'each poll carries the user code')
    t.equal(p.body.get('device_code'), auth.deviceCode)
    t.equal(p.body.get('grant_type'), null, 'the grant type is implied')
  }

  const rfcOnly = async (input: string | URL | Request): Promise<Response> => {
    const m = await (await fetch(input)).json() as Record<string, unknown>
    delete m.codepair_device_endpoint
    return new Response(JSON.stringify(m), { headers: { 'content-type': 'application/json' } })
  }
  await t.rejects(DeviceClient.discover({ issuer, clientId: client.id, endpoints: 'device-authorize', fetch: rfcOnly }), NetworkError, 'a server without these paths is refused at discovery')
})

t.test('FileTokenStore: owner-only, atomic, round trip', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'codepair-store-'))
  const path = join(dir, 'nested', 'tokens.json')
  const store = new FileTokenStore(path)
  t.equal(await store.load(), null)
  const tokens = { accessToken: 'a', tokenType: 'Bearer', expiresAt: 1, refreshToken: 'r' }
  await store.save(tokens)
  t.same(await store.load(), tokens)
  t.equal(statSync(path).mode & 0o777, 0o600, 'file 0600')
  t.equal(statSync(join(dir, 'nested')).mode & 0o777, 0o700, 'folder 0700')
  await Promise.all(Array.from({ length: 20 }, async (_, i) => await store.save({ ...tokens, accessToken: `a${i}` })))
  t.match((await store.load())?.accessToken, /^a\d+$/, 'concurrent writes leave one whole file')
  t.same(readdirSync(join(dir, 'nested')), ['tokens.json'], 'no temporary files left')
  await store.clear()
  t.equal(await store.load(), null)
})
