// RFC 6749 §6 refresh, with RFC 9700 §4.14 rotation and reuse detection.
import type { AccountGuard } from '../../accounts/account-guard.js'
import type { Emitter } from '../../events/types.js'
import type { Clock } from '../clock.js'
import { sha256 } from '../codes.js'
import { InvalidGrantError, InvalidRequestError, InvalidScopeError, InvalidTargetError } from '../errors.js'
import { REFRESH_TOKEN_GRANT } from '../grant-types.js'
import { parseScope } from '../scopes.js'
import type { NewRefreshToken, RefreshTokenRecord, RefreshTokenStore } from '../stores.js'
import type { TokenService } from '../token-service.js'
import type { GrantHandler, TokenRequest, TokenResponse } from './registry.js'

export interface RefreshGrantSettings {
  defaultAudience: string
  reuseGraceSeconds: number
}

export class RefreshTokenGrant implements GrantHandler {
  readonly grantType = REFRESH_TOKEN_GRANT

  constructor (
    private readonly settings: RefreshGrantSettings,
    private readonly store: RefreshTokenStore,
    private readonly accounts: AccountGuard,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
    private readonly events: Emitter
  ) {}

  async handle ({ params, client }: TokenRequest): Promise<TokenResponse> {
    const presented = params.refresh_token
    if (presented === undefined || presented === '') throw new InvalidRequestError('refresh_token is required')
    let rec = await this.store.findByHash(sha256(presented))
    if (rec === null || rec.clientId !== client.id) throw new InvalidGrantError('unknown refresh token')
    const now = this.clock()
    if (rec.revokedAt !== null || rec.grantRevokedAt !== null) throw new InvalidGrantError('refresh token revoked')
    if (now >= rec.expiresAt.getTime() || now >= rec.idleExpiresAt.getTime()) throw new InvalidGrantError('refresh token expired')

    // RFC 6749 §6: a refresh may narrow the scope, never widen it.
    const granted = parseScope(rec.scope)
    const asked = parseScope(params.scope)
    const widened = asked.filter(s => !granted.includes(s))
    if (widened.length > 0) throw new InvalidScopeError(`scope was not granted: ${widened.join(' ')}`)
    const audience = rec.resource ?? this.settings.defaultAudience
    if (params.resource !== undefined && params.resource !== audience) {
      throw new InvalidTargetError('a refresh token is bound to the resource it was issued for')
    }

    const user = await this.accounts.activeUser(rec.userId, new Date(now))
    if (user === null) throw new InvalidGrantError('the account can no longer use this grant')

    const minted = await this.tokens.mint({
      user,
      client,
      scope: asked.length > 0 ? asked : granted,
      grantScope: granted,
      audience,
      resource: rec.resource,
      grantId: rec.grantId,
      authTime: rec.authTime,
      now,
      family: { id: rec.familyId, expiresAt: rec.expiresAt }
    })
    const next = minted.refreshToken
    if (next === undefined) throw new InvalidGrantError('this client may no longer refresh')

    if (rec.rotatedAt === null) {
      if (await this.store.rotate(rec.id, new Date(now), next)) return minted.response
      // A concurrent refresh rotated it a moment ago: judge it as a reuse below.
      rec = await this.store.findByHash(rec.tokenHash) ?? rec
    }
    return await this.reused(rec, now, minted.response, next)
  }

  /**
   * A rotated token came back. Within the grace window it is a retry (two concurrent
   * refreshes, or a response lost on the way) and gets new tokens; after it, the token
   * was stolen or replayed, and the whole family and its grant are revoked.
   */
  private async reused (rec: RefreshTokenRecord, now: number, response: TokenResponse, next: NewRefreshToken): Promise<TokenResponse> {
    const rotatedAt = rec.rotatedAt?.getTime()
    if (rec.revokedAt === null && rotatedAt !== undefined && now - rotatedAt <= this.settings.reuseGraceSeconds * 1000) {
      await this.store.addSibling(next)
      return response
    }
    await this.events.emit('refresh.reuse_detected', { grantId: rec.grantId, familyId: rec.familyId, clientId: rec.clientId, userId: rec.userId },
      async outbox => await this.store.revokeFamily(rec.familyId, rec.grantId, new Date(now), outbox))
    throw new InvalidGrantError('refresh token reuse detected; the grant has been revoked')
  }
}
