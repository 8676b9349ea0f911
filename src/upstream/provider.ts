// One upstream OpenID Connect provider, through openid-client: discovery (cached, and
// tried again on the next sign-in when the provider was down), then the authorization
// code flow with PKCE (RFC 7636), state and nonce (OIDC Core §3.1.2.1, §15.5.2), and
// the ID token checks of OIDC Core §3.1.3.7 (signature, iss, aud, exp, iat, nonce).
import { importPKCS8 } from 'jose'
import * as oidc from 'openid-client'
import type { UpstreamProviderConfig } from './config.js'
import { UpstreamInvalidResponseError, UpstreamRefusedError, UpstreamUnavailableError } from './errors.js'

/** What the browser session keeps between leaving for the provider and coming back: single use. */
export interface PendingUpstreamSignIn {
  provider: string
  state: string
  nonce: string
  codeVerifier: string
}

/** What codepair takes from a verified ID token. */
export interface UpstreamIdentity {
  provider: string
  /** OIDC Core §2 `sub`: with the issuer, the only stable key of a person. */
  subject: string
  email: string | null
  /** OIDC Core §5.1: only a literal true counts. */
  emailVerified: boolean
  preferredUsername: string | null
  name: string | null
  /** RFC 8176 authentication method references, as the provider sent them. */
  amr: string[]
  acr: string | null
  /** When the person authenticated at the provider (seconds since the epoch). */
  authTime: number | null
}

export interface UpstreamProviderOptions {
  /** Where the provider sends the person back (registered at the provider). */
  redirectUri: string
  /** Per HTTP request to the provider. */
  timeoutSeconds: number
  /** How long a successful discovery is reused before it is fetched again. */
  discoveryTtlMs: number
  clock: () => number
  log: { warn: (obj: object, msg?: string) => void }
}

export class UpstreamProvider {
  #cached: { configuration: oidc.Configuration, at: number } | undefined
  #discovering: Promise<oidc.Configuration> | undefined

  constructor (readonly config: UpstreamProviderConfig, private readonly options: UpstreamProviderOptions) {}

  get name (): string { return this.config.name }

  /**
   * The discovered configuration. A failed discovery is not remembered, so the next sign-in
   * tries again; when a refresh fails, the last good one is kept (its JWKS may still do).
   */
  async configuration (): Promise<oidc.Configuration> {
    const cached = this.#cached
    if (cached !== undefined && this.options.clock() - cached.at < this.options.discoveryTtlMs) return cached.configuration
    this.#discovering ??= this.discover().finally(() => { this.#discovering = undefined })
    try {
      return await this.#discovering
    } catch (err) {
      if (cached !== undefined) {
        this.options.log.warn({ err, provider: this.name }, 'could not refresh the discovery document of an upstream provider; using the previous one')
        return cached.configuration
      }
      throw err
    }
  }

  private async discover (): Promise<oidc.Configuration> {
    const { config } = this
    const metadata: Partial<oidc.ClientMetadata> = { redirect_uris: [this.options.redirectUri], response_types: ['code'] }
    // The ID token's signature is checked against the provider's JWKS too. openid-client
    // skips that by default for tokens fetched straight from the token endpoint (OIDC Core
    // §3.1.3.7 step 6 lets TLS vouch for the issuer); we check it anyway, so a token altered
    // anywhere on the way (a proxy, a provider on plain http on this machine) is refused.
    const execute = [oidc.enableNonRepudiationChecks, ...(new URL(config.issuer).protocol === 'http:' ? [oidc.allowInsecureRequests] : [])]
    try {
      const configuration = await oidc.discovery(new URL(config.issuer), config.clientId, metadata, await this.clientAuth(), { execute, timeout: this.options.timeoutSeconds })
      this.#cached = { configuration, at: this.options.clock() }
      return configuration
    } catch (err) {
      this.options.log.warn({ err, provider: this.name, issuer: config.issuer }, 'upstream provider discovery failed')
      throw new UpstreamUnavailableError(this.name, { cause: err })
    }
  }

  private async clientAuth (): Promise<oidc.ClientAuth> {
    const { config } = this
    if (config.clientAuth === 'client_secret_post') return oidc.ClientSecretPost(config.clientSecret)
    if (config.clientAuth === 'client_secret_basic') return oidc.ClientSecretBasic(config.clientSecret)
    const pk = config.privateKey
    if (pk === undefined) throw new Error(`provider ${config.name}: private_key_jwt without a key`)
    const key = await importPKCS8(pk.pem, pk.alg)
    return oidc.PrivateKeyJwt(pk.kid === undefined ? key : { key, kid: pk.kid })
  }

  /** The URL to send the person to, and what the session must keep until they come back. */
  async start (): Promise<{ url: string, pending: PendingUpstreamSignIn }> {
    const configuration = await this.configuration()
    const pending: PendingUpstreamSignIn = {
      provider: this.name,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier()
    }
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.options.redirectUri,
      scope: this.config.scopes.join(' '),
      state: pending.state,
      nonce: pending.nonce,
      // RFC 7636 §4.2; S256 only (plain would hand the verifier to anyone who sees the URL).
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256'
    })
    return { url: url.href, pending }
  }

  /** Checks the answer at `callbackUrl`, redeems the code and verifies the ID token. */
  async finish (callbackUrl: URL, pending: PendingUpstreamSignIn): Promise<UpstreamIdentity> {
    const configuration = await this.configuration()
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        pkceCodeVerifier: pending.codeVerifier,
        idTokenExpected: true
      })
    } catch (err) {
      throw this.classify(err)
    }
    const claims = tokens.claims()
    if (claims === undefined) throw new UpstreamInvalidResponseError(this.name, 'no ID token')
    const str = (v: unknown) => typeof v === 'string' && v !== '' ? v : null
    return {
      provider: this.name,
      subject: claims.sub,
      email: str(claims.email),
      emailVerified: claims.email_verified === true,
      preferredUsername: str(claims.preferred_username),
      name: str(claims.name),
      amr: Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [],
      acr: str(claims.acr),
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : null
    }
  }

  private classify (err: unknown): Error {
    if (err instanceof oidc.AuthorizationResponseError) return new UpstreamRefusedError(this.name, err.error, err.error_description)
    const e = err as { code?: string, cause?: unknown }
    const status = e.cause instanceof Response ? e.cause.status : (err instanceof oidc.ResponseBodyError ? err.status : undefined)
    // Network failures surface as TypeError (fetch failed); timeouts as OAUTH_TIMEOUT.
    if (err instanceof TypeError || e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT' || (status !== undefined && status >= 500)) {
      this.options.log.warn({ err, provider: this.name }, 'upstream provider unavailable at the token or keys endpoint')
      return new UpstreamUnavailableError(this.name, { cause: err })
    }
    const check = err instanceof oidc.ResponseBodyError ? `token endpoint: ${err.error}` : (err as Error).message
    this.options.log.warn({ err, provider: this.name, check }, 'an upstream sign-in answer failed a check')
    return new UpstreamInvalidResponseError(this.name, check, { cause: err })
  }
}
