// UPSTREAM_PROVIDERS_FILE: the OpenID Connect providers people may sign in with, read and
// validated once at start-up (a mistake stops the server with the provider and field named).
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { z } from 'zod'

export type Provisioning = 'create' | 'link-by-verified-email' | 'existing-only'
export type UpstreamClientAuth = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'

export interface UpstreamProviderConfig {
  /** Short id in URLs (/login/upstream/NAME) and in stored identities; never change it once people have signed in. */
  readonly name: string
  readonly displayName: string
  /** The provider's issuer identifier (OIDC Discovery §4: discovery is at ISSUER/.well-known/openid-configuration). */
  readonly issuer: string
  readonly clientId: string
  readonly clientAuth: UpstreamClientAuth
  readonly clientSecret: string | undefined
  /** PKCS#8 PEM or a private JWK (JSON), for private_key_jwt (RFC 7523 §2.2). */
  readonly privateKey: { readonly pem: string, readonly alg: string, readonly kid: string | undefined } | undefined
  readonly scopes: readonly string[]
  readonly provisioning: Provisioning
  /** The provider's MFA (ID token amr) counts as a second factor here. */
  readonly trustMfa: boolean
}

const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

const provider = z.object({
  name: z.string().regex(NAME, 'must be 1 to 32 lower-case letters, digits or dashes (it appears in URLs and stored identities)'),
  displayName: z.string().trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters').optional(),
  issuer: z.string().superRefine((v, ctx) => {
    let u: URL
    try {
      u = new URL(v)
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be the provider's issuer URL, such as https://login.example.com (got "${v}")` })
      return
    }
    if (u.search !== '' || u.hash !== '') ctx.addIssue({ code: 'custom', message: 'must not have a query or fragment (OIDC Discovery §2)' })
    // Plain http only on this machine (tests, a provider on the same host): anywhere else
    // the ID token and the client secret would cross the network in clear.
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) {
      ctx.addIssue({ code: 'custom', message: `must be https (plain http is allowed only for 127.0.0.1, localhost and [::1]; got "${v}")` })
    }
  }),
  clientId: z.string().min(1, 'must not be empty'),
  clientSecret: z.string().min(1, 'must not be empty').optional(),
  clientAuth: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt'], { message: 'must be client_secret_basic, client_secret_post or private_key_jwt' }).optional(),
  privateKeyFile: z.string().min(1).optional(),
  privateKeyJwk: z.record(z.string(), z.unknown()).optional(),
  /** The kid the provider knows the public key by (a JWK's own kid otherwise). */
  privateKeyId: z.string().min(1).optional(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be scope tokens (RFC 6749 §3.3)')).optional(),
  provisioning: z.enum(['create', 'link-by-verified-email', 'existing-only'], { message: 'must be create, link-by-verified-email or existing-only' }).optional(),
  trustMfa: z.boolean({ message: 'must be true or false' }).optional()
}).strict()

const file = z.object({ providers: z.array(provider) }).strict()

/** Reads and checks the file; problems are pushed as "UPSTREAM_PROVIDERS_FILE: …" lines. */
export function loadUpstreamProviders (path: string, problems: string[]): UpstreamProviderConfig[] {
  const at = (where: string, message: string) => problems.push(`UPSTREAM_PROVIDERS_FILE: ${where}${message}`)
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    at('', code !== undefined
      ? `cannot read ${path} (${code})`
      : `${path} is not valid JSON (${(err as Error).message}); it holds {"providers": [{"name": …, "issuer": …, "clientId": …}]}`)
    return []
  }
  const parsed = file.safeParse(json)
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const where = i.path.length === 0 ? '' : `${i.path.map(p => typeof p === 'number' ? `[${p}]` : `.${String(p)}`).join('').replace(/^\./, '')}: `
      at(where, i.message)
    }
    return []
  }
  const out: UpstreamProviderConfig[] = []
  const seen = new Set<string>()
  parsed.data.providers.forEach((p, i) => {
    const where = `providers[${i}] (${p.name}): `
    if (seen.has(p.name)) at(where, 'a second provider with this name')
    seen.add(p.name)
    const clientAuth: UpstreamClientAuth = p.clientAuth ?? (p.privateKeyFile !== undefined || p.privateKeyJwk !== undefined ? 'private_key_jwt' : 'client_secret_basic')
    let privateKey: UpstreamProviderConfig['privateKey']
    if (clientAuth === 'private_key_jwt') {
      if (p.clientSecret !== undefined) at(where, 'clientSecret is not used with private_key_jwt; remove it')
      privateKey = readPrivateKey(p.privateKeyFile, p.privateKeyJwk, p.privateKeyId, m => at(where, m))
    } else {
      if (p.clientSecret === undefined) at(where, `clientSecret is required for ${clientAuth} (or set privateKeyFile / privateKeyJwk for private_key_jwt)`)
      if (p.privateKeyFile !== undefined || p.privateKeyJwk !== undefined) at(where, `privateKeyFile / privateKeyJwk are only for clientAuth private_key_jwt (clientAuth is ${clientAuth})`)
    }
    const scopes = p.scopes ?? ['openid', 'email', 'profile']
    // OIDC Core §3.1.2.1: without openid there is no ID token to verify.
    if (!scopes.includes('openid')) at(where, 'scopes must include openid')
    out.push({
      name: p.name,
      displayName: p.displayName ?? p.name,
      issuer: p.issuer,
      clientId: p.clientId,
      clientAuth,
      clientSecret: p.clientSecret,
      privateKey,
      scopes,
      provisioning: p.provisioning ?? 'existing-only',
      trustMfa: p.trustMfa ?? false
    })
  })
  return out
}

function readPrivateKey (pemFile: string | undefined, jwk: Record<string, unknown> | undefined, keyId: string | undefined, problem: (m: string) => void): UpstreamProviderConfig['privateKey'] {
  if ((pemFile === undefined) === (jwk === undefined)) {
    problem('private_key_jwt needs exactly one of privateKeyFile (PKCS#8 PEM) or privateKeyJwk')
    return undefined
  }
  try {
    const key = pemFile !== undefined
      ? createPrivateKey(readFileSync(pemFile, 'utf8'))
      : createPrivateKey({ key: jwk as any, format: 'jwk' })
    const alg = algFor(key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve)
    if (alg === undefined) {
      problem(`the private key is ${key.asymmetricKeyType ?? 'unknown'}; use RSA, EC P-256 or Ed25519`)
      return undefined
    }
    const kid = keyId ?? (typeof jwk?.kid === 'string' ? jwk.kid : undefined)
    return { pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), alg, kid }
  } catch (err) {
    problem(pemFile !== undefined
      ? `cannot read the private key in ${pemFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`
      : `privateKeyJwk is not a private key (${(err as Error).message})`)
    return undefined
  }
}

function algFor (type: string | undefined, curve: string | undefined): string | undefined {
  if (type === 'rsa') return 'RS256'
  if (type === 'ec' && curve === 'prime256v1') return 'ES256'
  if (type === 'ed25519') return 'EdDSA'
  return undefined
}
