// Issue 10 part 3: every way of ending access reaches introspection (RFC 7662) and
// requireScope (RFC 6750) at once: a token that worked is refused by the very next
// request after the revocation, through real HTTP on SQLite and PostgreSQL.
import { SignJWT } from 'jose'
import t, { type Test } from 'tap'
import { setClientEnabled } from '../../src/admin/clients.js'
import { setUserEnabled, setUserPassword } from '../../src/admin/users.js'
import { addClient, addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { eachDatabase, freshSqliteUrl, requirePostgres } from '../helpers/db.js'
import { HttpBrowser } from '../helpers/http-browser.js'
import { basic, form, FORM } from '../helpers/oauth.js'
import { postgresBehindProxy } from '../helpers/tcp-proxy.js'
import { DEVICE_CODE_GRANT } from '../../src/oauth/grant-types.js'
import { sha256 } from '../../src/oauth/codes.js'

type Ctx = Awaited<ReturnType<typeof listenTestApp>>

/** Response bodies are JSON objects of the endpoint's documented shape. */
const json = async (res: Response): Promise<any> => await res.json()

async function post (ctx: Ctx, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return await fetch(ctx.issuer + path, { method: 'POST', headers: { ...FORM, ...headers }, body: form(fields) })
}

/** A device flow over HTTP, approved in storage (the pages have their own tests). */
async function pair (ctx: Ctx, clientId: string, userId: string, scope = 'profile offline_access') {
  const da = await json(await post(ctx, '/oauth/device_authorization', { client_id: clientId, scope }))
  const rec = await ctx.app.codepair.storage.devices.findByDeviceCodeHash(sha256(da.device_code))
  if (rec === null || !await ctx.app.codepair.storage.devices.decide(rec.id, 'approved', userId, new Date(ctx.clock.ms))) throw new Error('could not approve')
  const res = await post(ctx, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: clientId, device_code: da.device_code })
  const tokens = await json(res)
  if (res.status !== 200) throw new Error(`token request failed: ${JSON.stringify(tokens)}`)
  return { ...tokens, deviceCode: da.device_code as string, grantId: rec.id } as { access_token: string, refresh_token: string, deviceCode: string, grantId: string }
}

async function setup (t: Test, databaseUrl: string) {
  const ctx = await listenTestApp(t, { databaseUrl })
  const api = await addClient(ctx.app, { confidential: true, name: 'Photos API' })
  // A bystander on another client and account: no revocation below may touch it.
  const radio = await addClient(ctx.app, { name: 'Kitchen Radio' })
  const bob = await addUser(ctx.app, 'bob')
  const bystander = await pair(ctx, radio.id, bob.id)
  const introspect = async (token: string) =>
    await json(await post(ctx, '/oauth/introspect', { token }, { authorization: basic(api.id, api.clientSecret ?? '') }))
  const call = async (path: string, token: string) => await fetch(ctx.issuer + path, { headers: { authorization: `Bearer ${token}` } })
  return { ...ctx, bystander, introspect, call }
}

type Setup = Awaited<ReturnType<typeof setup>>

/** A new person with a new TV client, and the TV paired once. */
async function person (s: Setup, username: string) {
  const client = await addClient(s.app, { name: `TV of ${username}` })
  const user = await addUser(s.app, username)
  return { client, user, tokens: await pair(s, client.id, user.id) }
}

async function expectWorks (t: Test, s: Setup, token: string, what: string) {
  const me = await s.call('/api/me', token)
  t.equal(me.status, 200, `${what}: /api/me admits it`)
  t.equal((await s.introspect(token)).active, true, `${what}: introspection says active`)
}

async function expectRefused (t: Test, s: Setup, token: string, what: string) {
  t.same(await s.introspect(token), { active: false }, `${what}: introspection says exactly {"active": false}`)
  const me = await s.call('/api/me', token)
  t.equal(me.status, 401, `${what}: /api/me answers 401`)
  t.match(me.headers.get('www-authenticate'), /^Bearer realm="codepair", error="invalid_token", error_description="the access token has been revoked"$/, `${what}: RFC 6750 §3.1 invalid_token`)
  t.equal((await json(me)).error, 'invalid_token')
  // The token lacks openid: before, userinfo answered 403 insufficient_scope; a revoked
  // token is invalid_token whatever scopes it lacks.
  const info = await s.call('/oauth/userinfo', token)
  t.equal(info.status, 401, `${what}: a route needing a scope the token lacks says 401, not 403`)
  t.match(info.headers.get('www-authenticate'), /error="invalid_token"/)
}

/** The person signed in on the pages, over HTTP. */
async function signedIn (s: Setup, username: string): Promise<HttpBrowser> {
  const b = new HttpBrowser(s.issuer)
  await b.get('/login')
  const signed = await b.post('/login', { username, password: PASSWORD })
  if (signed.status !== 303) throw new Error(`sign-in: ${signed.status}`)
  return b
}

interface Case {
  name: string
  /** Ends the access of `victim` (a fresh client and user per case). */
  revoke: (s: Setup, v: { clientId: string, userId: string, username: string, tokens: Awaited<ReturnType<typeof pair>> }) => Promise<void>
}

const CASES: Case[] = [
  {
    name: 'refresh token revoked at /oauth/revoke (grant and family revoked)',
    revoke: async (s, v) => {
      const res = await post(s, '/oauth/revoke', { token: v.tokens.refresh_token, client_id: v.clientId, token_type_hint: 'refresh_token' })
      if (res.status !== 200) throw new Error(`revoke: ${res.status}`)
    }
  },
  {
    name: 'refresh token reused after rotation (RFC 9700 §4.14: family and grant revoked)',
    revoke: async (s, v) => {
      const rotated = await post(s, '/oauth/token', { grant_type: 'refresh_token', client_id: v.clientId, refresh_token: v.tokens.refresh_token })
      if (rotated.status !== 200) throw new Error('refresh failed')
      const fresh = (await json(rotated)).access_token as string
      const reuse = await post(s, '/oauth/token', { grant_type: 'refresh_token', client_id: v.clientId, refresh_token: v.tokens.refresh_token })
      if (reuse.status !== 400) throw new Error(`reuse answered ${reuse.status}`)
      // The access token the rotation issued is of the same grant: refused too.
      v.tokens.access_token = fresh
    }
  },
  {
    name: 'device code replayed (RFC 6749 §4.1.2 by analogy: grant revoked)',
    revoke: async (s, v) => {
      const res = await post(s, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: v.clientId, device_code: v.tokens.deviceCode })
      if ((await json(res)).error !== 'invalid_grant') throw new Error('the replay was not refused')
    }
  },
  {
    name: 'device disconnected on the devices page',
    revoke: async (s, v) => {
      const b = await signedIn(s, v.username)
      await b.get(`/account/devices/disconnect?grant=${v.tokens.grantId}`)
      const res = await b.post('/account/devices/disconnect', { grant: v.tokens.grantId })
      if (res.location !== '/account/devices?notice=disconnected') throw new Error(`disconnect: ${res.status} ${res.location}`)
    }
  },
  {
    name: 'user disabled (codepair user disable)',
    revoke: async (s, v) => { await setUserEnabled(s.app.codepair.storage.db, v.username, false) }
  },
  {
    name: 'password changed (codepair user set-password)',
    revoke: async (s, v) => { await setUserPassword(s.app.codepair.storage.db, v.username, 'an entirely new password for this test') }
  },
  {
    name: 'password changed by the person on /account/security',
    revoke: async (s, v) => {
      const b = await signedIn(s, v.username)
      await b.get('/account/security/password')
      const next = 'a brand new password for this test'
      const res = await b.post('/account/security/password', { current: PASSWORD, password: next, confirm: next })
      if (res.location !== '/account/security?notice=password') throw new Error(`password change: ${res.status} ${res.location}`)
    }
  },
  {
    name: 'user deleted',
    revoke: async (s, v) => { await s.app.codepair.storage.db.user.delete({ where: { id: v.userId } }) }
  },
  {
    name: 'client disabled (codepair client disable)',
    revoke: async (s, v) => { await setClientEnabled(s.app.codepair.storage.db, v.clientId, false) }
  },
  {
    name: 'client deleted',
    revoke: async (s, v) => { await s.app.codepair.storage.db.client.delete({ where: { id: v.clientId } }) }
  },
  {
    name: 'access token revoked at /oauth/revoke (RFC 7009, its jti)',
    revoke: async (s, v) => {
      const res = await post(s, '/oauth/revoke', { token: v.tokens.access_token, client_id: v.clientId, token_type_hint: 'access_token' })
      if (res.status !== 200) throw new Error(`revoke: ${res.status}`)
    }
  }
]

t.test('every revocation path reaches introspection and requireScope at once', async t => {
  await eachDatabase(t, 'revocation paths', async (t, databaseUrl) => {
    const s = await setup(t, databaseUrl)
    let n = 0
    for (const c of CASES) {
      n++
      const username = `victim${n}`
      const { client, user, tokens } = await person(s, username)
      await expectWorks(t, s, tokens.access_token, c.name)
      await c.revoke(s, { clientId: client.id, userId: user.id, username, tokens })
      await expectRefused(t, s, tokens.access_token, c.name)
      await expectWorks(t, s, s.bystander.access_token, `${c.name}: another person's device`)
    }
  })
})

t.test('a grant-level revocation ends only that device', async t => {
  await eachDatabase(t, 'one device of two', async (t, databaseUrl) => {
    const s = await setup(t, databaseUrl)
    const { client, user, tokens: first } = await person(s, 'carol')
    const second = await pair(s, client.id, user.id)
    await post(s, '/oauth/revoke', { token: first.refresh_token, client_id: client.id })
    await expectRefused(t, s, first.access_token, 'the revoked device')
    await expectWorks(t, s, second.access_token, 'the same person\'s other device on the same client')
  })
})

t.test('a token issued before grant_id existed is still refused for its jti, user and client', async t => {
  const s = await setup(t, freshSqliteUrl(t))
  const client = await addClient(s.app, { name: 'Old TV' })
  const user = await addUser(s.app, 'dave')
  const { kid, alg, key } = s.app.codepair.keys.signingKey()
  const iat = Math.floor(s.clock.ms / 1000)
  const legacy = async (jti: string) => await new SignJWT({ client_id: client.id, scope: 'profile' })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' }).setIssuer(s.issuer).setSubject(user.id).setAudience(s.issuer)
    .setIssuedAt(iat).setExpirationTime(iat + 3600).setJti(jti).sign(key)
  const a = await legacy('legacy-a')
  await expectWorks(t, s, a, 'a token without grant_id')
  t.equal((await post(s, '/oauth/revoke', { token: a, client_id: client.id })).status, 200)
  await expectRefused(t, s, a, 'its jti revoked')
  const b = await legacy('legacy-b')
  await expectWorks(t, s, b, 'another one')
  await setUserEnabled(s.app.codepair.storage.db, 'dave', false)
  await expectRefused(t, s, b, 'its user disabled')
})

t.test('requireScope fails closed when the database is unreachable (503, not 200)', async t => {
  if (!await requirePostgres(t)) return
  const { url, proxy } = await postgresBehindProxy(t)
  const s = await setup(t, url)
  await expectWorks(t, s, s.bystander.access_token, 'before the outage')
  await proxy.stop()
  const down = await s.call('/api/me', s.bystander.access_token)
  t.equal(down.status, 503, 'the revocation check cannot run: refused, retryable')
  t.ok(Number(down.headers.get('retry-after')) >= 1)
  t.equal((await json(down)).error, 'temporarily_unavailable')
  await proxy.start()
  let back = await s.call('/api/me', s.bystander.access_token)
  for (let i = 0; i < 100 && back.status === 503; i++) {
    await new Promise(resolve => setTimeout(resolve, 200))
    back = await s.call('/api/me', s.bystander.access_token)
  }
  t.equal(back.status, 200, 'recovers by itself')
})

t.test('enabling a disabled user again does not bring its access tokens back', async t => {
  await eachDatabase(t, 'disable then enable', async (t, databaseUrl) => {
    const s = await setup(t, databaseUrl)
    const { client, user, tokens } = await person(s, 'erin')
    await setUserEnabled(s.app.codepair.storage.db, 'erin', false)
    await expectRefused(t, s, tokens.access_token, 'disabled')
    await setUserEnabled(s.app.codepair.storage.db, 'erin', true)
    await expectRefused(t, s, tokens.access_token, 'enabled again: the grants were revoked with the account')
    const again = await pair(s, client.id, user.id)
    await expectWorks(t, s, again.access_token, 'a new pairing works')
  })
})

t.test('a password change also ends approvals the device has not collected yet', async t => {
  await eachDatabase(t, 'approved, not yet redeemed', async (t, databaseUrl) => {
    const s = await setup(t, databaseUrl)
    /** A flow approved in storage (with the old password's session) whose device has not polled yet. */
    const approvedOnly = async (clientId: string, userId: string) => {
      const da = await json(await post(s, '/oauth/device_authorization', { client_id: clientId, scope: 'profile' }))
      const rec = await s.app.codepair.storage.devices.findByDeviceCodeHash(sha256(da.device_code))
      if (rec === null || !await s.app.codepair.storage.devices.decide(rec.id, 'approved', userId, new Date(s.clock.ms))) throw new Error('could not approve')
      return da.device_code as string
    }
    const redeem = async (clientId: string, deviceCode: string) =>
      await json(await post(s, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: clientId, device_code: deviceCode }))

    const { client, user } = await person(s, 'erin')
    const byCli = await approvedOnly(client.id, user.id)
    await setUserPassword(s.app.codepair.storage.db, 'erin', 'an entirely new password for this test')
    t.equal((await redeem(client.id, byCli)).error, 'access_denied', 'codepair user set-password: the device hears access_denied')

    const frank = await person(s, 'frank')
    const byPage = await approvedOnly(frank.client.id, frank.user.id)
    const b = await signedIn(s, 'frank')
    await b.get('/account/security/password')
    const next = 'a brand new password for this test'
    t.equal((await b.post('/account/security/password', { current: PASSWORD, password: next, confirm: next })).location, '/account/security?notice=password')
    t.equal((await redeem(frank.client.id, byPage)).error, 'access_denied', 'the change on /account/security: the same')

    t.equal((await s.call('/api/me', s.bystander.access_token)).status, 200, 'another person\'s device is untouched')
  })
})
