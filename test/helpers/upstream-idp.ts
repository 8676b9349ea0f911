// A real OpenID Connect provider (panva's oidc-provider) on 127.0.0.1 for upstream sign-in
// tests. Its login and consent screens are replaced by one step that signs in whoever the
// test names in `idp.next` (with the amr/acr the test wants), or refuses when told to.
// It can be stopped and started again on the same port (the "provider is down" tests),
// and can tamper with the ID token it issues (the verification tests).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import type { Test } from 'tap'

export interface Person {
  sub: string
  email?: string
  email_verified?: boolean
  preferred_username?: string
  name?: string
  /** RFC 8176 methods the provider says it used. */
  amr?: string[]
  acr?: string
}

export interface UpstreamIdp {
  issuer: string
  port: number
  clientId: string
  clientSecret: string
  /** Who signs in at the next authorization request. */
  next: Person
  /** When set, the next authorization request ends with this error (OIDC Core §3.1.2.6). */
  refuse: { error: string, error_description?: string } | undefined
  /** Rewrites the id_token in token responses while set. */
  tamperIdToken: ((idToken: string) => string) | undefined
  /** Authorization requests seen (their query parameters). */
  authorizations: URLSearchParams[]
  /** codepair's callback; set before the first start(). */
  redirectUri: string
  /** Listens on `port` (again, after stop()). */
  start (): Promise<void>
  stop (): Promise<void>
}

/**
 * Picks the provider's port and issuer (codepair's configuration needs them) without
 * starting it: set `redirectUri` to codepair's callback, then start().
 */
export async function createUpstreamIdp (t: Test, opts: { tokenEndpointAuthMethod?: string } = {}): Promise<UpstreamIdp> {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>(resolve => probe.close(() => resolve()))
  const issuer = `http://127.0.0.1:${port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...await exportJWK(privateKey), kid: 'idp-key-1', alg: 'RS256', use: 'sig' }

  const idp: UpstreamIdp = {
    issuer,
    port,
    clientId: 'codepair-upstream-test',
    clientSecret: 'an-upstream-client-secret-of-some-length',
    next: { sub: 'person-1', email: 'person1@idp.example', email_verified: true, preferred_username: 'person1', name: 'Person One' },
    refuse: undefined,
    tamperIdToken: undefined,
    authorizations: [],
    redirectUri: '',
    start: async () => {},
    stop: async () => {}
  }

  const people = new Map<string, Person>()
  let provider: Provider | undefined
  const build = () => new Provider(issuer, {
    clients: [{
      client_id: idp.clientId,
      client_secret: idp.clientSecret,
      redirect_uris: [idp.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: (opts.tokenEndpointAuthMethod ?? 'client_secret_basic') as 'client_secret_basic',
      require_auth_time: true
    }],
    jwks: { keys: [jwk as any] },
    cookies: { keys: ['upstream-idp-test-cookie-key'] },
    // amr and acr with the openid scope: oidc-provider otherwise sends them only when the claims parameter asks.
    claims: { acr: null, amr: null, auth_time: null, sid: null, openid: ['sub', 'amr', 'acr'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    // The claims of the requested scopes in the ID token itself (codepair reads only the ID token).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => {
      const p = people.get(id)
      if (p === undefined) return undefined
      return { accountId: id, claims: async () => ({ ...p, amr: undefined, acr: undefined }) }
    }
  })
  const install = (provider: Provider) => provider.use(async (ctx, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET') idp.authorizations.push(new URLSearchParams(ctx.querystring))
    await next()
    const body = ctx.body as { id_token?: string } | undefined
    if (ctx.path === '/token' && idp.tamperIdToken !== undefined && typeof body?.id_token === 'string') {
      ctx.body = { ...body, id_token: idp.tamperIdToken(body.id_token) }
    }
  })

  let server: Server | undefined
  idp.start = async () => {
    if (provider === undefined) {
      if (idp.redirectUri === '') throw new Error('set idp.redirectUri before start()')
      provider = build()
      install(provider)
    }
    const p = provider
    const callback = p.callback()
    const s = createServer((req, res) => {
      if (req.url?.startsWith('/interaction/') === true) {
        void (async () => {
          const details = await p.interactionDetails(req, res)
          if (idp.refuse !== undefined) {
            const refusal = idp.refuse
            idp.refuse = undefined
            await p.interactionFinished(req, res, refusal, { mergeWithLastSubmission: false })
            return
          }
          const person = idp.next
          people.set(person.sub, person)
          const grant = new p.Grant({ accountId: person.sub, clientId: String(details.params.client_id) })
          grant.addOIDCScope(String(details.params.scope))
          const grantId = await grant.save()
          await p.interactionFinished(req, res, {
            login: { accountId: person.sub, amr: person.amr, acr: person.acr },
            consent: { grantId }
          }, { mergeWithLastSubmission: false })
        })().catch(err => { res.statusCode = 500; res.end(String(err)) })
        return
      }
      callback(req, res)
    })
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', resolve) })
    server = s
  }
  idp.stop = async () => {
    const s = server
    server = undefined
    if (s === undefined) return
    s.closeAllConnections()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }
  t.teardown(async () => { await idp.stop() })
  return idp
}

/** Writes an UPSTREAM_PROVIDERS_FILE (not in t.testdir(): a second call there wipes the test's database). */
export function providersFile (t: Test, providers: Array<Record<string, unknown>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'codepair-upstream-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'upstream-providers.json')
  writeFileSync(path, JSON.stringify({ providers }))
  return path
}

export function providerEntry (idp: Pick<UpstreamIdp, 'issuer' | 'clientId' | 'clientSecret'>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'idp', displayName: 'Test IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, provisioning: 'create', ...extra }
}
