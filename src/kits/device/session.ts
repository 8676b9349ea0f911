// Keeps a paired device's tokens fresh: refreshes shortly before expiry and after a 401,
// stores the rotated refresh token, and says when the device must pair again.
import type { DeviceClient, TokenSet } from './client.js'
import { OAuthProtocolError, PairingRequiredError } from './errors.js'
import type { TokenStore } from './token-store.js'

export interface DeviceSessionOptions {
  /** Refresh this long before the access token expires (default 60 s). */
  refreshSkewSeconds?: number
  now?: () => number
  fetch?: typeof fetch
}

export class DeviceSession {
  #refreshing: Promise<TokenSet> | undefined
  readonly #now: () => number
  readonly #fetch: typeof fetch

  constructor (readonly client: DeviceClient, readonly store: TokenStore, private readonly options: DeviceSessionOptions = {}) {
    this.#now = options.now ?? Date.now
    this.#fetch = options.fetch ?? fetch
  }

  /** Saves the tokens a finished device flow returned. */
  async begin (tokens: TokenSet): Promise<void> {
    await this.store.save(tokens)
  }

  /** A valid access token, refreshed first when it is about to expire. */
  async accessToken (): Promise<string> {
    const tokens = await this.store.load()
    if (tokens === null) throw new PairingRequiredError('this device is not paired')
    const skew = (this.options.refreshSkewSeconds ?? 60) * 1000
    if (this.#now() < tokens.expiresAt - skew) return tokens.accessToken
    return (await this.refresh(tokens)).accessToken
  }

  /**
   * Refreshes once for any number of concurrent callers (two refreshes with one rotating
   * token would look like reuse to the server).
   */
  async refresh (current?: TokenSet): Promise<TokenSet> {
    this.#refreshing ??= (async () => {
      const tokens = current ?? await this.store.load()
      if (tokens?.refreshToken === undefined) {
        throw new PairingRequiredError('the access token expired and there is no refresh token: pair again')
      }
      try {
        const next = await this.client.refresh(tokens.refreshToken)
        await this.store.save(next)
        return next
      } catch (err) {
        if (err instanceof OAuthProtocolError && (err.error === 'invalid_grant' || err.error === 'invalid_client' || err.error === 'unauthorized_client')) {
          await this.store.clear()
          throw new PairingRequiredError('the server no longer accepts this device\'s refresh token: pair again', { cause: err })
        }
        throw err
      }
    })().finally(() => { this.#refreshing = undefined })
    return await this.#refreshing
  }

  /** fetch with the bearer token; on a 401 refreshes once and retries. */
  async fetch (input: string | URL, init: RequestInit = {}): Promise<Response> {
    const send = async (token: string) => {
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${token}`)
      return await this.#fetch(input, { ...init, headers })
    }
    const res = await send(await this.accessToken())
    if (res.status !== 401) return res
    await res.body?.cancel()
    return await send((await this.refresh()).accessToken)
  }

  /** Signs the device out: revokes the refresh token (ending the grant) and forgets the tokens. */
  async signOut (): Promise<void> {
    const tokens = await this.store.load()
    if (tokens?.refreshToken !== undefined) await this.client.revoke(tokens.refreshToken).catch(() => {})
    await this.store.clear()
  }
}
