// Mints the token response for a grant: an RFC 9068 access token, an ID token when
// `openid` is granted, and a refresh token when the client may refresh and the person
// granted offline_access (OIDC Core §11).
import { randomUUID } from 'node:crypto'
import type { AccessTokenIssuer } from './access-token.js'
import { claimsFor } from './claims.js'
import { generateSecret, sha256 } from './codes.js'
import type { TokenResponse } from './grants/registry.js'
import { REFRESH_TOKEN_GRANT } from './grant-types.js'
import type { IdTokenIssuer } from './id-token.js'
import { formatScope } from './scopes.js'
import type { ClientRecord, NewRefreshToken, UserRecord } from './stores.js'

export interface TokenSettings {
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  refreshTokenIdleTtlSeconds: number
}

export interface MintInput {
  user: UserRecord
  client: ClientRecord
  /** Scope of this access token (may be narrower than the grant's). */
  scope: string[]
  /** Scope the person granted; refresh tokens carry it. */
  grantScope: string[]
  audience: string
  resource: string | null
  grantId: string
  authTime: Date
  now: number
  /** Refresh tokens keep their family and absolute expiry across rotations. */
  family?: { id: string, expiresAt: Date }
}

export interface Minted {
  response: TokenResponse
  jti: string
  refreshToken?: NewRefreshToken
}

export class TokenService {
  constructor (
    private readonly settings: TokenSettings,
    private readonly access: AccessTokenIssuer,
    private readonly idTokens: IdTokenIssuer
  ) {}

  mayRefresh (client: ClientRecord, grantScope: string[]): boolean {
    return client.grantTypes.includes(REFRESH_TOKEN_GRANT) && grantScope.includes('offline_access')
  }

  async mint (input: MintInput): Promise<Minted> {
    const { user, client, now } = input
    const scope = formatScope(input.scope)
    const access = await this.access.issue({
      subject: user.id,
      clientId: client.id,
      scope,
      audience: input.audience,
      now,
      ttlSeconds: this.settings.accessTokenTtlSeconds
    })
    const response: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope }
    if (input.scope.includes('openid')) {
      response.id_token = await this.idTokens.issue({
        subject: user.id,
        clientId: client.id,
        authTime: input.authTime,
        claims: claimsFor(user, input.scope),
        now,
        ttlSeconds: this.settings.accessTokenTtlSeconds
      })
    }
    if (!this.mayRefresh(client, input.grantScope)) return { response, jti: access.jti }

    const token = generateSecret()
    const expiresAt = input.family?.expiresAt ?? new Date(now + this.settings.refreshTokenTtlSeconds * 1000)
    const refreshToken: NewRefreshToken = {
      id: randomUUID(),
      tokenHash: sha256(token),
      familyId: input.family?.id ?? randomUUID(),
      grantId: input.grantId,
      userId: user.id,
      clientId: client.id,
      scope: formatScope(input.grantScope),
      resource: input.resource,
      createdAt: new Date(now),
      expiresAt,
      idleExpiresAt: new Date(Math.min(expiresAt.getTime(), now + this.settings.refreshTokenIdleTtlSeconds * 1000)),
      authTime: input.authTime
    }
    response.refresh_token = token
    return { response, jti: access.jti, refreshToken }
  }
}
