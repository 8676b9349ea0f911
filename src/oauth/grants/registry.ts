// The token endpoint dispatches on grant_type through this registry
// (node-oidc-provider's lib/actions/grants/, fosite's handler list).
import { UnauthorizedClientError, UnsupportedGrantTypeError } from '../errors.js'
import type { ClientRecord } from '../stores.js'

export interface TokenRequest {
  /** Form parameters other than grant_type and client credentials. */
  params: Readonly<Record<string, string | undefined>>
  client: ClientRecord
  ip: string | null
  /**
   * The user code the device was shown, to be matched before anything is redeemed: the
   * `auth_code` of POST /oauth/device/authorize (flask-oauth2-devices). The token
   * endpoint never sets it.
   */
  userCode?: string
}

export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
}

export interface GrantHandler {
  readonly grantType: string
  handle (request: TokenRequest): Promise<TokenResponse>
}

export class GrantRegistry {
  readonly #handlers = new Map<string, GrantHandler>()

  register (handler: GrantHandler): this {
    this.#handlers.set(handler.grantType, handler)
    return this
  }

  get grantTypes (): string[] { return [...this.#handlers.keys()] }

  async handle (grantType: string, request: TokenRequest): Promise<TokenResponse> {
    const handler = this.#handlers.get(grantType)
    if (handler === undefined) throw new UnsupportedGrantTypeError(`unsupported grant_type: ${grantType.slice(0, 100)}`)
    if (!request.client.grantTypes.includes(grantType)) {
      throw new UnauthorizedClientError('this client may not use this grant type')
    }
    return await handler.handle(request)
  }
}
