// Mints the token response for a grant: an RFC 9068 access token, an ID token when
// `openid` is granted, and a refresh token when the client may refresh and the person
// granted offline_access (OIDC Core §11).
import { randomUUID } from 'node:crypto'
import type { AccessTokenIssuer } from './access-token.js'
import { claimsFor } from './claims.js'
import { generateSecret, sha256 } from './codes.js'
import { AccessDeniedError, InvalidGrantError } from './errors.js'
import type { TokenResponse } from './grants/registry.js'
import { REFRESH_TOKEN_GRANT } from './grant-types.js'
import type { IdTokenIssuer } from './id-token.js'
import { IDENTITY_SCOPES } from './resources.js'
import { formatScope } from './scopes.js'
import type { ClientRecord, NewRefreshToken, UserRecord } from './stores.js'

export interface TokenSettings {
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  refreshTokenIdleTtlSeconds: number
}

/**
 * The design's per-service permission model (a `get_permissions(service, user)`): a
 * provider per audience decides the API scopes a token carries and a `permissions` claim.
 * Implemented by src/events/permissions.ts over the operator's hooks; it throws
 * TemporarilyUnavailableError when a provider fails or times out.
 */
export interface PermissionCheck {
  /** null: no provider for this audience, the requested scopes stand. */
  decide (input: { audience: string, user: UserRecord, clientId: string, scopes: string[], grantType: 'device_code' | 'refresh_token' }):
  Promise<{ scopes: string[], permissions?: Record<string, unknown> } | { deny: string } | null>
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
  /** How the approver authenticated (ID token amr and acr); null or absent when not recorded. */
  authentication?: { amr: string[], acr: string } | null
  /** Refresh tokens keep their family and absolute expiry across rotations (absent: a device code redemption). */
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
    private readonly idTokens: IdTokenIssuer,
    private readonly permissions?: PermissionCheck
  ) {}

  mayRefresh (client: ClientRecord, grantScope: string[]): boolean {
    return client.grantTypes.includes(REFRESH_TOKEN_GRANT) && grantScope.includes('offline_access')
  }

  async mint (input: MintInput): Promise<Minted> {
    const { user, client, now } = input
    const decided = await this.decidePermissions(input)
    const scope = formatScope(decided.scopes)
    const access = await this.access.issue({
      subject: user.id,
      clientId: client.id,
      scope,
      audience: input.audience,
      now,
      ttlSeconds: this.settings.accessTokenTtlSeconds,
      permissions: decided.permissions,
      grantId: input.grantId
    })
    const response: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope }
    if (decided.scopes.includes('openid')) {
      response.id_token = await this.idTokens.issue({
        subject: user.id,
        clientId: client.id,
        authTime: input.authTime,
        claims: claimsFor(user, decided.scopes),
        authentication: input.authentication,
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

  /**
   * The audience's provider narrows the API scopes (never widens: what it adds is
   * dropped) and may add permissions; identity scopes are codepair's and pass through.
   */
  private async decidePermissions (input: MintInput): Promise<{ scopes: string[], permissions?: Record<string, unknown> }> {
    if (this.permissions === undefined) return { scopes: input.scope }
    const api = input.scope.filter(s => !IDENTITY_SCOPES.includes(s))
    const grantType = input.family === undefined ? 'device_code' : 'refresh_token'
    const decision = await this.permissions.decide({ audience: input.audience, user: input.user, clientId: input.client.id, scopes: api, grantType })
    if (decision === null) return { scopes: input.scope }
    if ('deny' in decision) {
      // RFC 8628 §3.5 access_denied ends the device's polling; a refresh has no such code (RFC 6749 §5.2).
      throw grantType === 'device_code' ? new AccessDeniedError(decision.deny) : new InvalidGrantError(decision.deny)
    }
    const granted = new Set(decision.scopes)
    return { scopes: input.scope.filter(s => IDENTITY_SCOPES.includes(s) || granted.has(s)), permissions: decision.permissions }
  }
}
