// The device side of RFC 8628 against codepair or any server that publishes RFC 8414
// metadata: start a device authorization, poll for tokens, refresh, revoke.
import { AccessDeniedError, DeviceCodeExpiredError, NetworkError, OAuthProtocolError } from './errors.js'
import { postForm, protocolError, type Http } from './http.js'

export interface DeviceClientOptions {
  /** Issuer URL; metadata comes from /.well-known/oauth-authorization-server (or openid-configuration). */
  issuer: string
  clientId: string
  /** Only for confidential clients (sent with HTTP Basic). */
  clientSecret?: string
  fetch?: typeof fetch
  timeoutMs?: number
  /** Sent as User-Agent; the person sees it on the confirmation page (default "codepair-device-kit"). */
  userAgent?: string
  now?: () => number
  /** Waits `ms` or rejects when `signal` aborts; replaceable in tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /**
   * Where to ask and poll. 'rfc8628' (default): the metadata's device_authorization_endpoint
   * and token_endpoint. 'device-authorize': codepair's own paths, POST /oauth/device and
   * POST /oauth/device/authorize (those of flask-oauth2-devices); polls carry the user
   * code as auth_code, so the server redeems only the pair it handed out.
   */
  endpoints?: 'rfc8628' | 'device-authorize'
}

export interface ServerMetadata {
  issuer: string
  device_authorization_endpoint: string
  token_endpoint: string
  revocation_endpoint?: string
  /** codepair's POST /oauth/device and POST /oauth/device/authorize. */
  codepair_device_endpoint?: string
  codepair_device_authorize_endpoint?: string
  [key: string]: unknown
}

export interface DeviceAuthorization {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete?: string
  /** An image of a QR code for verificationUriComplete, when the server offers one (codepair does). */
  qrCodeUri?: string
  expiresAt: number
  interval: number
}

export interface TokenSet {
  accessToken: string
  tokenType: string
  /** Milliseconds since the epoch. */
  expiresAt: number
  refreshToken?: string
  idToken?: string
  scope?: string
}

export type PollState =
  | { state: 'pending', interval: number, expiresAt: number }
  | { state: 'slow_down', interval: number, expiresAt: number }
  | { state: 'unavailable', retryInSeconds: number, expiresAt: number, reason: string }

export interface PollOptions {
  signal?: AbortSignal
  onProgress?: (state: PollState) => void
}

export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve, reject) => {
  if (signal?.aborted === true) return reject(signal.reason)
  const timer = setTimeout(() => { signal?.removeEventListener('abort', abort); resolve() }, ms)
  const abort = () => { clearTimeout(timer); reject(signal?.reason) }
  signal?.addEventListener('abort', abort, { once: true })
})

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export class DeviceClient {
  readonly #http: Http
  readonly #now: () => number
  readonly #sleep: NonNullable<DeviceClientOptions['sleep']>

  private constructor (readonly options: DeviceClientOptions, readonly metadata: ServerMetadata) {
    this.#http = { fetch: options.fetch ?? fetch, timeoutMs: options.timeoutMs ?? 10000, userAgent: options.userAgent ?? 'codepair-device-kit' }
    this.#now = options.now ?? Date.now
    this.#sleep = options.sleep ?? defaultSleep
  }

  /** Reads the server's metadata (RFC 8414 §3) and checks it names the same issuer. */
  static async discover (options: DeviceClientOptions): Promise<DeviceClient> {
    const issuer = options.issuer.replace(/\/+$/, '')
    const doFetch = options.fetch ?? fetch
    let lastError: unknown
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      try {
        const res = await doFetch(`${issuer}${path}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(options.timeoutMs ?? 10000) })
        if (!res.ok) { lastError = new Error(`HTTP ${res.status}`); continue }
        const m = await res.json() as ServerMetadata
        if (m.issuer !== issuer) throw new NetworkError(`metadata names issuer ${String(m.issuer)}, expected ${issuer}`)
        if (typeof m.device_authorization_endpoint !== 'string' || typeof m.token_endpoint !== 'string') {
          throw new NetworkError(`${issuer} does not support the device authorization grant`)
        }
        if (options.endpoints === 'device-authorize' && (typeof m.codepair_device_endpoint !== 'string' || typeof m.codepair_device_authorize_endpoint !== 'string')) {
          throw new NetworkError(`${issuer} does not offer /oauth/device and /oauth/device/authorize; use endpoints: 'rfc8628'`)
        }
        return new DeviceClient(options, m)
      } catch (err) {
        if (err instanceof NetworkError) throw err
        lastError = err
      }
    }
    throw new NetworkError(`cannot read the metadata of ${issuer}: ${(lastError as Error)?.message ?? 'unknown error'}`, { cause: lastError })
  }

  #auth (): { form: Record<string, string>, headers: Record<string, string> } {
    const { clientId, clientSecret } = this.options
    if (clientSecret === undefined) return { form: { client_id: clientId }, headers: {} }
    const enc = (s: string) => encodeURIComponent(s)
    return { form: {}, headers: { authorization: `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}` } }
  }

  get #ownPaths (): boolean { return this.options.endpoints === 'device-authorize' }

  /** RFC 8628 §3.1 */
  async start (request: { scope?: string, resource?: string } = {}): Promise<DeviceAuthorization> {
    const { form, headers } = this.#auth()
    const endpoint = this.#ownPaths ? String(this.metadata.codepair_device_endpoint) : this.metadata.device_authorization_endpoint
    const r = await postForm(this.#http, endpoint, { ...form, scope: request.scope, resource: request.resource }, headers)
    if (r.status !== 200) throw protocolError(r)
    const b = r.body
    if (typeof b.device_code !== 'string' || typeof b.user_code !== 'string' || typeof b.verification_uri !== 'string') {
      throw new NetworkError('the device authorization response lacks device_code, user_code or verification_uri')
    }
    return {
      deviceCode: b.device_code,
      userCode: b.user_code,
      verificationUri: b.verification_uri,
      verificationUriComplete: typeof b.verification_uri_complete === 'string' ? b.verification_uri_complete : undefined,
      qrCodeUri: typeof b.verification_qr_uri === 'string' ? b.verification_qr_uri : undefined,
      expiresAt: this.#now() + Number(b.expires_in ?? 600) * 1000,
      // §3.2: 5 seconds when the server does not say.
      interval: Number.isFinite(Number(b.interval)) && Number(b.interval) > 0 ? Number(b.interval) : 5
    }
  }

  /**
   * RFC 8628 §3.4–3.5: polls until tokens arrive. authorization_pending → wait the
   * interval; slow_down → the interval grows by 5 s for this and every later poll; 503
   * or 429 → wait Retry-After and go on (the server is briefly unavailable, not saying
   * no); network errors → go on until the code expires. access_denied and expired_token
   * end with typed errors.
   */
  async poll (auth: DeviceAuthorization, options: PollOptions = {}): Promise<TokenSet> {
    let interval = auth.interval
    let wait = interval
    const { form, headers } = this.#auth()
    // codepair's own polling path implies the grant type and checks the user code too.
    const [endpoint, params] = this.#ownPaths
      ? [String(this.metadata.codepair_device_authorize_endpoint), { device_code: auth.deviceCode, auth_code: auth.userCode }]
      : [this.metadata.token_endpoint, { grant_type: DEVICE_CODE_GRANT, device_code: auth.deviceCode }]
    for (;;) {
      await this.#sleep(wait * 1000, options.signal)
      if (this.#now() >= auth.expiresAt) throw new DeviceCodeExpiredError('expired_token', 'the code expired before it was approved', 400)
      let r
      try {
        r = await postForm(this.#http, endpoint, { ...form, ...params }, headers)
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err
        wait = interval
        options.onProgress?.({ state: 'unavailable', retryInSeconds: wait, expiresAt: auth.expiresAt, reason: err.message })
        continue
      }
      if (r.status === 200) return this.#tokenSet(r.body)
      if (r.status === 503 || r.status === 429 || (r.status >= 500 && r.body.error === undefined)) {
        wait = Math.max(interval, r.retryAfterSeconds ?? interval)
        options.onProgress?.({ state: 'unavailable', retryInSeconds: wait, expiresAt: auth.expiresAt, reason: String(r.body.error ?? `HTTP ${r.status}`) })
        continue
      }
      switch (r.body.error) {
        case 'authorization_pending':
          wait = interval
          options.onProgress?.({ state: 'pending', interval, expiresAt: auth.expiresAt })
          continue
        case 'slow_down':
          interval += 5
          wait = interval
          options.onProgress?.({ state: 'slow_down', interval, expiresAt: auth.expiresAt })
          continue
        case 'access_denied':
          throw new AccessDeniedError('access_denied', r.body.error_description, r.status)
        case 'expired_token':
          throw new DeviceCodeExpiredError('expired_token', r.body.error_description, r.status)
        default:
          throw protocolError(r)
      }
    }
  }

  /** RFC 6749 §6; the answer carries the rotated refresh token. */
  async refresh (refreshToken: string, scope?: string): Promise<TokenSet> {
    const { form, headers } = this.#auth()
    const r = await postForm(this.#http, this.metadata.token_endpoint, { ...form, grant_type: 'refresh_token', refresh_token: refreshToken, scope }, headers)
    if (r.status !== 200) throw protocolError(r)
    const set = this.#tokenSet(r.body)
    return { ...set, refreshToken: set.refreshToken ?? refreshToken }
  }

  /** RFC 7009; revoking the refresh token ends the device's grant on codepair. */
  async revoke (token: string): Promise<void> {
    const endpoint = this.metadata.revocation_endpoint
    if (endpoint === undefined) throw new OAuthProtocolError('unsupported', 'the server has no revocation endpoint', 0)
    const { form, headers } = this.#auth()
    const r = await postForm(this.#http, endpoint, { ...form, token }, headers)
    if (r.status !== 200) throw protocolError(r)
  }

  #tokenSet (b: Record<string, any>): TokenSet {
    if (typeof b.access_token !== 'string') throw new NetworkError('the token response has no access_token')
    return {
      accessToken: b.access_token,
      tokenType: String(b.token_type ?? 'Bearer'),
      expiresAt: this.#now() + Number(b.expires_in ?? 3600) * 1000,
      refreshToken: typeof b.refresh_token === 'string' ? b.refresh_token : undefined,
      idToken: typeof b.id_token === 'string' ? b.id_token : undefined,
      scope: typeof b.scope === 'string' ? b.scope : undefined
    }
  }
}
