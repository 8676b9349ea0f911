// RFC 8628 §3.4–3.5: the device polls with its device_code.
import type { AccountGuard } from '../../accounts/account-guard.js'
import type { Emitter } from '../../events/types.js'
import type { Clock } from '../clock.js'
import { sha256 } from '../codes.js'
import {
  AccessDeniedError, AuthorizationPendingError, ExpiredTokenError, InvalidGrantError, InvalidRequestError, SlowDownError
} from '../errors.js'
import { DEVICE_CODE_GRANT } from '../grant-types.js'
import { parseScope } from '../scopes.js'
import type { ClientRecord, DeviceAuthorizationStore, PollResult } from '../stores.js'
import type { TokenService } from '../token-service.js'
import type { GrantHandler, TokenRequest, TokenResponse } from './registry.js'

/** RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
export const SLOW_DOWN_STEP_SECONDS = 5

/** Whether a presented user code is the one stored as `storedHash` (codes.ts userCodeMatches, keyed). */
export type UserCodeMatcher = (presented: string, storedHash: string) => boolean

export interface DeviceCodeGrantSettings {
  pollLeewayMs: number
  defaultAudience: string
}

export class DeviceCodeGrant implements GrantHandler {
  readonly grantType = DEVICE_CODE_GRANT

  constructor (
    private readonly settings: DeviceCodeGrantSettings,
    private readonly devices: DeviceAuthorizationStore,
    private readonly accounts: AccountGuard,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
    private readonly events: Emitter,
    private readonly userCodeMatches: UserCodeMatcher
  ) {}

  async handle ({ params, client, ip, userCode }: TokenRequest): Promise<TokenResponse> {
    const deviceCode = params.device_code
    if (deviceCode === undefined || deviceCode === '') throw new InvalidRequestError('device_code is required')
    const hash = sha256(deviceCode)
    if (userCode !== undefined) await this.checkUserCode(hash, client, userCode)
    const now = this.clock()

    // The common case, one statement: a live code of this client, polled on time or too
    // early. DeviceAuthorizationStore.poll holds the RFC 8628 §3.5 rule (hot-path.ts):
    // the first poll is never throttled, one earlier than interval − leeway after the
    // last accepted poll gets slow_down and +5 s. Order of checks (RFC-CHECKLIST):
    // unknown/foreign → expired → slow_down → denied → pending.
    const polled = await this.devices.poll(hash, client.id, new Date(now), this.settings.pollLeewayMs, SLOW_DOWN_STEP_SECONDS)
    if (polled === null) return await this.refuse(hash, client, now, ip)
    if (!polled.accepted) {
      throw new SlowDownError(`polling too fast; wait ${polled.intervalSeconds} seconds between requests`, polled.intervalSeconds)
    }
    switch (polled.status) {
      case 'pending':
        throw new AuthorizationPendingError('the user has not yet approved this device')
      case 'denied':
        throw new AccessDeniedError('the user denied the authorization request')
      case 'approved':
        return await this.redeem(polled, client, now, ip)
      case 'consumed': // excluded by poll(); here for the type checker
        throw new InvalidGrantError('device_code already used')
    }
  }

  /**
   * A device that also sends the user code it showed (flask-oauth2-devices' auth_code)
   * must send the right one. Checked before the poll statement, so a mismatch changes
   * nothing: no poll recorded, no slow_down step, the approval still waiting for the
   * right pair. The code is only compared for a device_code of this client; an unknown or
   * foreign one gets the answer it gets without auth_code, so nothing here tells anyone
   * about user codes they could not already redeem.
   */
  private async checkUserCode (hash: string, client: ClientRecord, userCode: string): Promise<void> {
    const rec = await this.devices.findByDeviceCodeHash(hash)
    if (rec === null || rec.clientId !== client.id) throw new InvalidGrantError('unknown device_code')
    if (!this.userCodeMatches(userCode, rec.userCodeHash)) throw new InvalidGrantError('auth_code does not match the device_code')
  }

  /** No live code matched: say exactly why, in the order of RFC-CHECKLIST. */
  private async refuse (hash: string, client: ClientRecord, now: number, ip: string | null): Promise<never> {
    const rec = await this.devices.findByDeviceCodeHash(hash)
    // Another client's code is indistinguishable from an unknown one (no oracle).
    if (rec === null || rec.clientId !== client.id) throw new InvalidGrantError('unknown device_code')
    if (rec.revokedAt !== null) throw new InvalidGrantError('this device_code has been revoked')
    if (rec.status === 'consumed') {
      // Single use: a replay means the code leaked; revoke what it issued.
      await this.events.emit('device.code_reused', { grantId: rec.id, clientId: client.id, userId: rec.userId, ip },
        async outbox => await this.devices.revokeGrant(rec.id, new Date(now), outbox))
      throw new InvalidGrantError('device_code already used')
    }
    if (now >= rec.expiresAt.getTime()) {
      throw new ExpiredTokenError('the device_code has expired; start a new device authorization')
    }
    // It matched nothing a moment ago but is live now: a concurrent poll changed it.
    throw new SlowDownError('polling too fast', rec.intervalSeconds)
  }

  private async redeem (rec: PollResult, client: ClientRecord, now: number, ip: string | null): Promise<TokenResponse> {
    // Re-check the account at redemption: disabled or locked after approving → no tokens.
    const user = rec.userId === null ? null : await this.accounts.activeUser(rec.userId, new Date(now))
    if (user === null) throw new AccessDeniedError('the approving account can no longer authorize devices')
    const scope = parseScope(rec.scope)
    // Only ID tokens carry amr/acr: no extra read for plain access tokens.
    const authentication = scope.includes('openid') ? await this.devices.findAuthentication(rec.id) : null
    const minted = await this.tokens.mint({
      user,
      client,
      scope,
      grantScope: scope,
      audience: rec.resource ?? this.settings.defaultAudience,
      resource: rec.resource,
      grantId: rec.id,
      authTime: rec.decidedAt ?? new Date(now),
      authentication,
      now
    })
    const audience = rec.resource ?? this.settings.defaultAudience
    const won = await this.events.emit('device.tokens_issued', {
      grantId: rec.id, clientId: client.id, scope: minted.response.scope, resource: rec.resource, userId: user.id, audience, refreshToken: minted.refreshToken !== undefined, ip
    }, async outbox => await this.devices.consume(rec.id, new Date(now), {
      accessTokenId: minted.jti, userId: user.id, clientId: client.id, ip, refreshToken: minted.refreshToken
    }, outbox))
    // A concurrent poll consumed it first: this one gets nothing (the tokens above are discarded unsent).
    if (!won) throw new InvalidGrantError('device_code already used')
    return minted.response
  }
}
