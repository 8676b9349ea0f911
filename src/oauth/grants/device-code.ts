// RFC 8628 §3.4–3.5: the device polls with its device_code.
import type { AccountGuard } from '../../accounts/account-guard.js'
import type { Clock } from '../clock.js'
import { sha256 } from '../codes.js'
import {
  AccessDeniedError, AuthorizationPendingError, ExpiredTokenError, InvalidGrantError, InvalidRequestError, SlowDownError
} from '../errors.js'
import { DEVICE_CODE_GRANT } from '../grant-types.js'
import { parseScope } from '../scopes.js'
import type { ClientRecord, DeviceAuthorizationRecord, DeviceAuthorizationStore, PollResult } from '../stores.js'
import type { TokenService } from '../token-service.js'
import type { GrantHandler, TokenRequest, TokenResponse } from './registry.js'

/** RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
export const SLOW_DOWN_STEP_SECONDS = 5

export interface DeviceCodeGrantSettings {
  pollLeewayMs: number
  defaultAudience: string
}

export type PollVerdict = 'expired' | 'slow_down' | 'poll'

/**
 * The order of checks after the code is found and belongs to the client
 * (RFC-CHECKLIST): expired → expired_token; too soon after the last accepted poll →
 * slow_down; otherwise the poll counts. The first poll is never throttled, and
 * `leewayMs` forgives network jitter. DeviceAuthorizationStore.poll applies the same
 * rule in one statement; this function is its reference (and the expiry check).
 */
export function judgePoll (rec: Pick<DeviceAuthorizationRecord, 'expiresAt' | 'lastPollAt' | 'intervalSeconds'>, now: number, leewayMs: number): PollVerdict {
  if (now >= rec.expiresAt.getTime()) return 'expired'
  if (rec.lastPollAt !== null && now - rec.lastPollAt.getTime() < rec.intervalSeconds * 1000 - leewayMs) return 'slow_down'
  return 'poll'
}

export class DeviceCodeGrant implements GrantHandler {
  readonly grantType = DEVICE_CODE_GRANT

  constructor (
    private readonly settings: DeviceCodeGrantSettings,
    private readonly devices: DeviceAuthorizationStore,
    private readonly accounts: AccountGuard,
    private readonly tokens: TokenService,
    private readonly clock: Clock
  ) {}

  async handle ({ params, client, ip }: TokenRequest): Promise<TokenResponse> {
    const deviceCode = params.device_code
    if (deviceCode === undefined || deviceCode === '') throw new InvalidRequestError('device_code is required')
    const hash = sha256(deviceCode)
    const now = this.clock()

    // The common case, one statement: a live code of this client, polled on time or too early.
    const polled = await this.devices.poll(hash, client.id, new Date(now), this.settings.pollLeewayMs, SLOW_DOWN_STEP_SECONDS)
    if (polled === null) return await this.refuse(hash, client, now)
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

  /** No live code matched: say exactly why, in the order of RFC-CHECKLIST. */
  private async refuse (hash: string, client: ClientRecord, now: number): Promise<never> {
    const rec = await this.devices.findByDeviceCodeHash(hash)
    // Another client's code is indistinguishable from an unknown one (no oracle).
    if (rec === null || rec.clientId !== client.id) throw new InvalidGrantError('unknown device_code')
    if (rec.revokedAt !== null) throw new InvalidGrantError('this device_code has been revoked')
    if (rec.status === 'consumed') {
      // Single use: a replay means the code leaked; revoke what it issued.
      await this.devices.revokeGrant(rec.id, new Date(now))
      throw new InvalidGrantError('device_code already used')
    }
    if (judgePoll(rec, now, this.settings.pollLeewayMs) === 'expired') {
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
    const minted = await this.tokens.mint({
      user,
      client,
      scope,
      grantScope: scope,
      audience: rec.resource ?? this.settings.defaultAudience,
      resource: rec.resource,
      grantId: rec.id,
      authTime: rec.decidedAt ?? new Date(now),
      now
    })
    const won = await this.devices.consume(rec.id, new Date(now), {
      accessTokenId: minted.jti, userId: user.id, clientId: client.id, ip, refreshToken: minted.refreshToken
    })
    // A concurrent poll consumed it first: this one gets nothing (the tokens above are discarded unsent).
    if (!won) throw new InvalidGrantError('device_code already used')
    return minted.response
  }
}
