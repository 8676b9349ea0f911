// RFC 6749 §6 refresh, with RFC 9700 §4.14 rotation and reuse detection.
import type { AccountGuard } from '../../accounts/account-guard.js'
import type { Emitter } from '../../events/types.js'
import type { Clock } from '../clock.js'
import { sha256 } from '../codes.js'
import { InvalidGrantError, InvalidRequestError, InvalidScopeError, InvalidTargetError } from '../errors.js'
import { REFRESH_TOKEN_GRANT } from '../grant-types.js'
import { parseScope } from '../scopes.js'
import type { DeviceAuthorizationStore, RefreshTokenRecord, RefreshTokenStore } from '../stores.js'
import type { TokenService } from '../token-service.js'
import type { GrantHandler, TokenRequest, TokenResponse } from './registry.js'

/** Passes of read → conditional write before contention itself is taken for a replay. */
const MAX_PASSES = 8

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
    private readonly events: Emitter,
    /** How the grant's approver authenticated, for ID tokens issued on refresh. */
    private readonly authentications?: Pick<DeviceAuthorizationStore, 'findAuthentication'>
  ) {}

  async handle ({ params, client }: TokenRequest): Promise<TokenResponse> {
    const presented = params.refresh_token
    if (presented === undefined || presented === '') throw new InvalidRequestError('refresh_token is required')
    let rec = await this.store.findByHash(sha256(presented))
    if (rec === null || rec.clientId !== client.id) throw new InvalidGrantError('unknown refresh token')
    const now = this.clock()
    // A token the family has moved past (revoked, superseded by a retry, rotated outside
    // the grace window) ends it, whatever else is wrong with the request.
    if (this.judge(rec, now) === 'reuse') return await this.endFamily(rec, now)
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

    const scope = asked.length > 0 ? asked : granted
    const authentication = scope.includes('openid') ? await this.authentications?.findAuthentication(rec.grantId) ?? null : null
    const minted = await this.tokens.mint({
      user,
      client,
      scope,
      grantScope: granted,
      audience,
      resource: rec.resource,
      grantId: rec.grantId,
      authTime: rec.authTime,
      authentication,
      now,
      family: { id: rec.familyId, expiresAt: rec.expiresAt }
    })
    const next = minted.refreshToken
    if (next === undefined) throw new InvalidGrantError('this client may no longer refresh')

    // Each pass acts on what the token was when read; a conditional write that finds it
    // changed (a concurrent refresh) reads it again and judges anew. Every failed pass
    // means another request changed the family, so passes are bounded by the requests in
    // flight; beyond MAX_PASSES so many retries of one token are not a lost response.
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const verdict = this.judge(rec, now)
      if (verdict === 'rotate' && await this.store.rotate(rec, new Date(now), next)) return minted.response
      if (verdict === 'retry') {
        if (await this.store.replaceSuccessor(rec, new Date(now - this.settings.reuseGraceSeconds * 1000), new Date(now), next)) return minted.response
      }
      if (verdict === 'reuse') break
      const again = await this.store.findByHash(rec.tokenHash)
      if (again === null) throw new InvalidGrantError('unknown refresh token')
      // A retry that lost only because its successor changed hands goes again; one whose
      // successor was used (or revoked) since is a replay.
      if (verdict === 'retry' && again.replacedById === rec.replacedById) { rec = again; break }
      rec = again
    }
    return await this.endFamily(rec, now)
  }

  /**
   * RFC 9700 §4.14. A live token rotates. A rotated token is a replay, unless the
   * operator allows a grace window and it comes back inside it: then it is a retry (a
   * lost response) and replaceSuccessor honours it only while the successor has never
   * been used, revoking that successor, so the family keeps exactly one live token and
   * whoever holds the other answer finds it dead at their next refresh (ending the
   * family). Anything else ends the family and the grant.
   */
  private judge (rec: RefreshTokenRecord, now: number): 'rotate' | 'retry' | 'reuse' {
    if (rec.revokedAt !== null || rec.grantRevokedAt !== null) return 'reuse'
    if (rec.rotatedAt === null) return 'rotate'
    const grace = this.settings.reuseGraceSeconds * 1000
    return grace > 0 && now - rec.rotatedAt.getTime() <= grace ? 'retry' : 'reuse'
  }

  private async endFamily (rec: RefreshTokenRecord, now: number): Promise<never> {
    const alreadyRevoked = rec.revokedAt !== null || rec.grantRevokedAt !== null
    // Reported once: when this call is the one that revokes the grant.
    await this.events.emit('refresh.reuse_detected', { grantId: rec.grantId, familyId: rec.familyId, clientId: rec.clientId, userId: rec.userId },
      async outbox => await this.store.revokeFamily(rec.familyId, rec.grantId, new Date(now), outbox))
    throw new InvalidGrantError(alreadyRevoked ? 'refresh token revoked' : 'refresh token reuse detected; the grant has been revoked')
  }
}
