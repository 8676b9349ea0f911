// Upstream sign-in against a real OpenID Connect provider (oidc-provider on 127.0.0.1),
// through real HTTP with a cookie jar, on SQLite and PostgreSQL: the device is approved
// after the round trip, and every way the round trip can go wrong leaves nobody signed in.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createWebhook } from '../../src/admin/webhooks.js'
import { EVENT_TYPES, type CodepairEvent, type Hooks } from '../../src/events/types.js'
import { addClient, addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { systemClockTest } from '../helpers/clock.js'
import { eachDatabase, freshSqliteUrl } from '../helpers/db.js'
import { CrossOriginBrowser, type HttpResponse } from '../helpers/cross-origin-browser.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'
import { createUpstreamIdp, providerEntry, providersFile, type UpstreamIdp } from '../helpers/upstream-idp.js'

function recorder () {
  const seen: CodepairEvent[] = []
  const on = Object.fromEntries(EVENT_TYPES.map(type => [type, (e: CodepairEvent) => { seen.push(e) }])) as Hooks['on']
  return { seen, hooks: { on } satisfies Hooks }
}

interface Setup {
  app: FastifyInstance
  issuer: string
  idp: UpstreamIdp
  browser: CrossOriginBrowser
  seen: CodepairEvent[]
  /** Every event so far, once the hooks have run. */
  events: () => Promise<CodepairEvent[]>
}

async function setup (t: Test, databaseUrl: string, opts: { provider?: Record<string, unknown>, env?: Record<string, string>, hooks?: Hooks[], startIdp?: boolean } = {}): Promise<Setup> {
  const idp = await createUpstreamIdp(t)
  const file = providersFile(t, [providerEntry(idp, opts.provider)])
  const rec = recorder()
  const ctx = await listenTestApp(t, {
    databaseUrl,
    clock: systemClockTest(),
    env: { UPSTREAM_PROVIDERS_FILE: file, WEBHOOK_WORKER: 'false', ...opts.env },
    hooks: [rec.hooks, ...(opts.hooks ?? [])]
  })
  idp.redirectUri = `${ctx.issuer}/login/upstream/idp/callback`
  if (opts.startIdp !== false) await idp.start()
  const events = async () => { await ctx.app.codepair.events.drain(); return rec.seen }
  return { app: ctx.app, issuer: ctx.issuer, idp, browser: new CrossOriginBrowser(), seen: rec.seen, events }
}

/**
 * Clicks "Sign in with Test IdP" and follows the round trip until codepair's answer to the
 * callback (a redirect into codepair, or a page). `rewrite` tampers with any hop.
 */
async function upstreamSignIn (s: Setup, rewrite?: (u: URL) => URL): Promise<HttpResponse> {
  const login = await s.browser.get(`${s.issuer}/login`)
  const href = /href="(\/login\/upstream\/idp)"/.exec(login.body)?.[1]
  if (href === undefined) throw new Error(`no provider button on /login: ${login.body}`)
  await s.browser.get(`${s.issuer}${href}`)
  return await s.browser.follow({
    stopAt: u => u.origin === s.issuer && !u.pathname.startsWith('/login/upstream/'),
    ...(rewrite === undefined ? {} : { rewrite })
  })
}

async function signedInAs (s: Setup): Promise<string | null> {
  const confirm = await s.browser.get(`${s.issuer}/account/devices`)
  if (confirm.status !== 200) return null
  return /Signed in as (?:<strong>)?([a-z0-9._@-]+?)(?:<\/strong>)?\.?</.exec(confirm.body)?.[1] ?? 'unknown'
}

async function sessionData (app: FastifyInstance, userId: string): Promise<Record<string, any>> {
  const rows = await app.codepair.storage.db.session.findMany()
  const row = rows.map(r => JSON.parse(r.data)).find(d => d.userId === userId)
  if (row === undefined) throw new Error('no session for that user')
  return row
}

await eachDatabase(t, 'approve a device after signing in upstream (account created just in time)', async (t, databaseUrl) => {
  const s = await setup(t, databaseUrl)
  const { app, issuer, browser, idp } = s
  const webhook = await createWebhook(app.codepair.storage.db, app.codepair.secrets.webhookSecretKey, { url: 'http://127.0.0.1:9/hook', events: 'user.created user.signed_in' }, false)
  const client = await addClient(app, { name: 'Kitchen TV' })
  const flow = await startDeviceFlow(app, client.id, { scope: 'openid profile email' })
  idp.next = { sub: 'upstream-sub-42', email: 'Dana@Corp.example', email_verified: true, preferred_username: 'dana', name: 'Dana Scully', amr: ['pwd'] }

  await browser.get(`${issuer}/activate?user_code=${encodeURIComponent(flow.user_code)}`)
  const entered = await browser.post(`${issuer}/activate`, { user_code: flow.user_code })
  t.equal(entered.location, `${issuer}/login`, 'sign-in comes next')
  const login = await browser.get(`${issuer}/login`)
  t.match(login.body, /<form method="post" action="\/login">/, 'the password form is there')
  t.match(login.body, /<a class="button-link upstream-provider" href="\/login\/upstream\/idp" data-provider="idp">Sign in with Test IdP<\/a>/, 'beside a button for the provider')
  const before = browser.cookies.get(new URL(issuer).origin)?.get('codepair')

  const back = await upstreamSignIn(s)
  t.equal(back.status, 303, 'the callback signs the person in')
  t.equal(back.location, `${issuer}/activate/confirm`, 'and the pending activation survived the round trip')
  t.not(browser.cookies.get(new URL(issuer).origin)?.get('codepair'), before, 'a new session id after sign-in')
  const auth = idp.authorizations.at(-1)
  t.equal(auth?.get('code_challenge_method'), 'S256', 'PKCE S256')
  t.ok((auth?.get('state') ?? '').length >= 32, 'a state')
  t.ok((auth?.get('nonce') ?? '').length >= 32, 'a nonce')
  t.equal(auth?.get('scope'), 'openid email profile')
  t.equal(auth?.get('redirect_uri'), `${issuer}/login/upstream/idp/callback`)

  const confirm = await browser.follow()
  t.equal(confirm.status, 200)
  t.match(confirm.body, 'Kitchen TV')
  t.match(confirm.body, flow.user_code)
  await browser.post(`${issuer}/activate/confirm`, { decision: 'approve' })
  const done = await browser.follow()
  t.match(done.body, 'Device connected')

  const user = await app.codepair.storage.db.user.findUniqueOrThrow({ where: { username: 'dana' }, include: { externalIdentities: true } })
  t.match(user, { name: 'Dana Scully', email: 'Dana@Corp.example', enabled: true })
  t.match(user.externalIdentities, [{ provider: 'idp', subject: 'upstream-sub-42', email: 'Dana@Corp.example' }], 'the identity is linked')
  t.ok(user.externalIdentities[0]?.lastLoginAt instanceof Date)
  const tokens = await poll(app, client.id, flow.device_code)
  t.equal(tokens.statusCode, 200, 'the device gets its tokens')
  const claims = JSON.parse(Buffer.from(tokens.json().access_token.split('.')[1], 'base64url').toString())
  t.equal(claims.sub, user.id, 'for the account created upstream')

  // The password form cannot be used for an account that has no password.
  const other = new CrossOriginBrowser()
  await other.get(`${issuer}/login`)
  const pw = await other.post(`${issuer}/login`, { username: 'dana', password: 'any password at all' })
  t.equal(pw.status, 401, 'no password works for an upstream-only account')

  const events = await s.events()
  t.same(events.map(e => e.type).filter(x => x.startsWith('user.')), ['user.created', 'user.signed_in', 'user.sign_in_failed'])
  t.match(events.find(e => e.type === 'user.created'), { subject: `user:${user.id}`, data: { user: { id: user.id, username: 'dana', email: 'Dana@Corp.example' }, source: 'upstream', provider: 'idp' } })
  t.match(events.find(e => e.type === 'user.signed_in'), { subject: `user:${user.id}`, data: { user: { id: user.id }, method: 'upstream', provider: 'idp', ip: '127.0.0.1' } })
  const outbox = await app.codepair.storage.db.outboxEvent.findMany({ orderBy: { occurredAt: 'asc' }, include: { deliveries: true } })
  t.same(outbox.map(o => o.type), ['user.created', 'user.signed_in'], 'both events are in the webhook outbox')
  t.ok(outbox.every(o => o.deliveries.length === 1 && o.deliveries[0]?.subscriptionId === webhook.id))
  t.match(JSON.parse(outbox[0]?.payload ?? '{}'), { type: 'user.created', data: { source: 'upstream', provider: 'idp' } })

  // A second sign-in with the same identity: the same account, nothing created.
  const again = new CrossOriginBrowser()
  const second = await upstreamSignIn({ ...s, browser: again })
  t.equal(second.location, `${issuer}/activate`)
  t.equal(await app.codepair.storage.db.user.count(), 1, 'no second account')
  t.same((await s.events()).map(e => e.type).filter(x => x.startsWith('user.')), ['user.created', 'user.signed_in', 'user.sign_in_failed', 'user.signed_in'])
})

await eachDatabase(t, 'provider down: a clear page, local sign-in still works, and the next try reaches it', async (t, databaseUrl) => {
  const s = await setup(t, databaseUrl, { startIdp: false })
  const { app, issuer, browser, idp } = s
  await addUser(app)

  await browser.get(`${issuer}/login`)
  const down = await browser.get(`${issuer}/login/upstream/idp`)
  t.equal(down.status, 503)
  t.match(down.body, '<h1>Test IdP is not answering</h1>')
  t.match(down.body, 'We could not reach Test IdP to sign you in. Try again in a few minutes, or sign in with your username and password.')
  t.match(down.body, 'href="/login"')
  t.match(down.headers.get('content-type') ?? '', 'text/html')

  await browser.get(`${issuer}/login`)
  const local = await browser.post(`${issuer}/login`, { username: 'alice', password: PASSWORD })
  t.equal(local.status, 303, 'password sign-in works while the provider is down')
  t.equal(await signedInAs(s), 'alice')

  // The provider comes back: discovery was not cached as failed.
  await idp.start()
  const fresh = new CrossOriginBrowser()
  const back = await upstreamSignIn({ ...s, browser: fresh })
  t.equal(back.status, 303)
  t.equal(back.location, `${issuer}/activate`)

  // Down again after discovery: the token endpoint cannot be reached on the way back.
  const third = new CrossOriginBrowser()
  await third.get(`${issuer}/login/upstream/idp`)
  await third.follow({ stopAt: u => u.pathname.endsWith('/callback') })
  const callback = third.last?.location ?? ''
  await idp.stop()
  const page = await third.get(callback)
  t.equal(page.status, 503)
  t.match(page.body, 'Test IdP is not answering')
  t.equal(await signedInAs({ ...s, browser: third }), null, 'nobody is signed in')
})

await eachDatabase(t, 'state, nonce and the ID token are checked', async (t, databaseUrl) => {
  const s = await setup(t, databaseUrl)
  const { app, issuer } = s

  await t.test('a tampered state is refused', async t => {
    const browser = new CrossOriginBrowser()
    const res = await upstreamSignIn({ ...s, browser }, u => {
      // Another first character (a state may itself start with x: then y).
      const state = u.searchParams.get('state') ?? ''
      if (u.pathname.endsWith('/callback')) u.searchParams.set('state', (state.startsWith('x') ? 'y' : 'x') + state.slice(1))
      return u
    })
    t.equal(res.status, 400)
    t.match(res.body, 'Sign-in could not be verified')
    t.equal(await signedInAs({ ...s, browser }), null)
  })

  await t.test('a tampered nonce is refused', async t => {
    const browser = new CrossOriginBrowser()
    // The authorization request leaves with another nonce: the ID token carries that one.
    const res = await upstreamSignIn({ ...s, browser }, u => {
      if (u.origin === s.idp.issuer && u.pathname === '/auth') u.searchParams.set('nonce', 'attacker-chosen-nonce-value-0123456789')
      return u
    })
    t.equal(res.status, 400)
    t.match(res.body, 'did not pass our security checks')
    t.equal(await signedInAs({ ...s, browser }), null)
  })

  await t.test('a tampered ID token is refused', async t => {
    const browser = new CrossOriginBrowser()
    // Another sub in the payload, the provider's signature kept: the signature no longer matches.
    s.idp.tamperIdToken = token => {
      const [h, p, sig] = token.split('.')
      const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString())
      return [h, Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url'), sig].join('.')
    }
    const res = await upstreamSignIn({ ...s, browser })
    s.idp.tamperIdToken = undefined
    t.equal(res.status, 400)
    t.match(res.body, 'did not pass our security checks')
    t.equal(await signedInAs({ ...s, browser }), null)
  })

  await t.test('an answer replayed, or carried to another browser, is refused', async t => {
    const browser = new CrossOriginBrowser()
    await browser.get(`${issuer}/login/upstream/idp`)
    await browser.follow({ stopAt: u => u.pathname.endsWith('/callback') })
    const callback = browser.last?.location ?? ''
    const elsewhere = new CrossOriginBrowser()
    const stolen = await elsewhere.get(callback)
    t.equal(stolen.status, 400)
    t.match(stolen.body, 'does not belong to a sign-in started in this browser')
    const first = await browser.get(callback)
    t.equal(first.status, 303, 'the browser that started it signs in')
    const replay = new CrossOriginBrowser()
    await replay.get(`${issuer}/login/upstream/idp`) // a sign-in of its own, pending
    const replayed = await replay.get(callback)
    t.equal(replayed.status, 400, 'another session\'s state does not match')
  })

  await t.test('the provider refuses: a clear page', async t => {
    const browser = new CrossOriginBrowser()
    s.idp.refuse = { error: 'access_denied', error_description: 'The person said no' }
    const res = await upstreamSignIn({ ...s, browser })
    t.equal(res.status, 400)
    t.match(res.body, 'Test IdP did not sign you in')
    t.match(res.body, 'the sign-in was cancelled or refused there')
    t.equal(await signedInAs({ ...s, browser }), null)
  })

  t.equal(await app.codepair.storage.db.user.count(), 1, 'only the one legitimate sign-in created an account')
})

await eachDatabase(t, 'linking by e-mail only when the provider verified it', async (t, databaseUrl) => {
  const s = await setup(t, databaseUrl, { provider: { provisioning: 'link-by-verified-email' } })
  const { app, issuer, idp } = s
  const alice = await addUser(app) // alice@example.com

  idp.next = { sub: 'mallory-at-idp', email: 'ALICE@example.com', email_verified: false, preferred_username: 'alice' }
  const browser = new CrossOriginBrowser()
  const refused = await upstreamSignIn({ ...s, browser })
  t.equal(refused.status, 403)
  t.match(refused.body, 'has not confirmed that this address is yours')
  t.equal(await signedInAs({ ...s, browser }), null)
  t.equal(await app.codepair.storage.db.externalIdentity.count(), 0, 'an unverified e-mail never links')
  t.equal(await app.codepair.storage.db.user.count(), 1, 'and creates no look-alike account')
  const failed = (await s.events()).filter(e => e.type === 'user.sign_in_failed')
  t.match(failed, [{ data: { username: 'alice', reason: 'invalid', method: 'upstream', provider: 'idp' } }], 'user.sign_in_failed')

  // (A new browser each time: the provider remembers who signed in there.)
  idp.next = { sub: 'alice-at-idp', email: 'Alice@Example.com', email_verified: true, preferred_username: 'alice.a' }
  const real = new CrossOriginBrowser()
  const linked = await upstreamSignIn({ ...s, browser: real })
  t.equal(linked.status, 303, 'a verified e-mail links')
  t.equal(await signedInAs({ ...s, browser: real }), 'alice')
  t.match(await app.codepair.storage.db.externalIdentity.findMany(), [{ provider: 'idp', subject: 'alice-at-idp', userId: alice.id }])
  t.notOk((await s.events()).some(e => e.type === 'user.created'), 'no account was created')

  // Another person at the provider claiming the same verified address: not merged into alice.
  idp.next = { sub: 'second-alice', email: 'alice@example.com', email_verified: true }
  const other = new CrossOriginBrowser()
  const second = await upstreamSignIn({ ...s, browser: other })
  t.equal(second.status, 403)
  t.match(second.body, 'already connected to another Test IdP account')

  // No account with that e-mail: one is created.
  idp.next = { sub: 'newcomer', email: 'new@corp.example', email_verified: true, preferred_username: 'alice' }
  const fresh = new CrossOriginBrowser()
  t.equal((await upstreamSignIn({ ...s, browser: fresh })).status, 303)
  t.equal(await signedInAs({ ...s, browser: fresh }), 'alice-idp', 'a taken username is never reused: a new, different one')
})

await eachDatabase(t, 'existing-only refuses unknown people and signs in linked ones', async (t, databaseUrl) => {
  const s = await setup(t, databaseUrl, { provider: { provisioning: 'existing-only' } })
  const { app, idp } = s
  const alice = await addUser(app)
  idp.next = { sub: 'stranger', email: 'alice@example.com', email_verified: true, preferred_username: 'alice' }
  const browser = new CrossOriginBrowser()
  const refused = await upstreamSignIn({ ...s, browser })
  t.equal(refused.status, 403)
  t.match(refused.body, 'Your Test IdP account is not connected to an account here. Ask an administrator to connect it.')
  t.equal(await app.codepair.storage.db.user.count(), 1)
  t.equal(await app.codepair.storage.db.externalIdentity.count(), 0, 'not even a verified e-mail links')

  await app.codepair.storage.identities.link({ id: 'id-1', provider: 'idp', subject: 'stranger', userId: alice.id, email: null })
  const ok = await upstreamSignIn({ ...s, browser })
  t.equal(ok.status, 303, 'an identity an operator linked signs in')
  t.equal(await signedInAs({ ...s, browser }), 'alice')

  await app.codepair.storage.db.user.update({ where: { id: alice.id }, data: { enabled: false } })
  const disabled = new CrossOriginBrowser()
  const res = await upstreamSignIn({ ...s, browser: disabled })
  t.equal(res.status, 403)
  t.match(res.body, 'Your account here is disabled')
})

await eachDatabase(t, 'a before hook vetoes the account creation', async (t, databaseUrl) => {
  const s = await setup(t, databaseUrl, {
    hooks: [{ before: { 'user.created': e => e.data.user.email?.endsWith('@corp.example') === true ? undefined : { veto: 'only corp.example people may use this server' } } }]
  })
  const { app, idp } = s
  idp.next = { sub: 'outsider', email: 'someone@gmail.example', email_verified: true, preferred_username: 'outsider' }
  const browser = new CrossOriginBrowser()
  const res = await upstreamSignIn({ ...s, browser })
  t.equal(res.status, 403)
  t.match(res.body, 'An account could not be created for you: only corp.example people may use this server')
  t.equal(await app.codepair.storage.db.user.count(), 0)
  t.equal(await app.codepair.storage.db.externalIdentity.count(), 0)

  idp.next = { sub: 'insider', email: 'eve@corp.example', email_verified: true, preferred_username: 'eve' }
  const insider = new CrossOriginBrowser()
  t.equal((await upstreamSignIn({ ...s, browser: insider })).status, 303)
  t.equal(await signedInAs({ ...s, browser: insider }), 'eve')
})

t.test('the provider\'s MFA counts only when the operator trusts it (session.upstreamAuthentication)', async t => {
  for (const trustMfa of [true, false]) {
    await t.test(`trustMfa ${trustMfa}`, async t => {
      const s = await setup(t, freshSqliteUrl(t), { provider: { trustMfa } })
      s.idp.next = { sub: 'mfa-person', preferred_username: 'mfa', amr: ['pwd', 'otp'], acr: 'urn:example:loa:2' }
      t.equal((await upstreamSignIn(s)).status, 303)
      const user = await s.app.codepair.storage.db.user.findUniqueOrThrow({ where: { username: 'mfa' } })
      const data = await sessionData(s.app, user.id)
      t.match(data.upstreamAuthentication, { provider: 'idp', amr: ['pwd', 'otp'], acr: 'urn:example:loa:2', mfa: trustMfa })
      t.type(data.upstreamAuthentication.authTime, 'number')
      t.equal(data.upstream, undefined, 'the pending sign-in is gone')
    })
  }
  await t.test('a password alone is not MFA, even when trusted', async t => {
    const s = await setup(t, freshSqliteUrl(t), { provider: { trustMfa: true } })
    s.idp.next = { sub: 'pwd-person', preferred_username: 'pwd', amr: ['pwd'] }
    t.equal((await upstreamSignIn(s)).status, 303)
    const user = await s.app.codepair.storage.db.user.findUniqueOrThrow({ where: { username: 'pwd' } })
    t.match((await sessionData(s.app, user.id)).upstreamAuthentication, { amr: ['pwd'], mfa: false })
  })
})

t.test('PASSWORD_SIGN_IN=false: only the providers', async t => {
  const s = await setup(t, freshSqliteUrl(t), { env: { PASSWORD_SIGN_IN: 'false' } })
  await addUser(s.app)
  const login = await s.browser.get(`${s.issuer}/login`)
  t.notMatch(login.body, '<form method="post" action="/login">', 'no password form')
  t.notMatch(login.body, 'Or sign in with')
  t.match(login.body, 'Sign in with Test IdP')
  await s.browser.get(`${s.issuer}/activate`) // a form, for a CSRF token
  const pw = await s.browser.post(`${s.issuer}/login`, { username: 'alice', password: PASSWORD })
  t.equal(pw.status, 403)
  t.match(pw.body, 'Sign-in with a password is turned off here')
  t.equal(await signedInAs(s), null)
  t.equal((await upstreamSignIn(s)).status, 303)
})

t.test('an unknown provider name is a page, not a 500', async t => {
  const s = await setup(t, freshSqliteUrl(t))
  for (const path of ['/login/upstream/nope', '/login/upstream/nope/callback?code=x&state=y']) {
    const res = await s.browser.get(`${s.issuer}${path}`)
    t.equal(res.status, 404, path)
    t.match(res.body, 'Unknown sign-in option')
  }
})
