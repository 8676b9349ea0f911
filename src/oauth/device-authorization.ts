// RFC 8628 §3.1–3.2: the device authorization request and response.
import { v7 as uuidv7 } from 'uuid'
import type { Emitter } from '../events/types.js'
import type { Clock } from './clock.js'
import { randomBytesPooled } from './random.js'
import { formatUserCode, generateDeviceCode, generateUserCode, sha256, userCodeHmac } from './codes.js'
import { InvalidScopeError, ServerError, TemporarilyUnavailableError, TooManyRequestsError, UnauthorizedClientError } from './errors.js'
import { DEVICE_CODE_GRANT } from './grant-types.js'
import type { LiveCodeGauge } from './live-codes.js'
import { resolveAudience } from './resources.js'
import { formatScope, parseScope } from './scopes.js'
import { DuplicateUserCodeError, type ClientRecord, type DeviceAuthorizationStore, type ResourceServerStore } from './stores.js'

/**
 * Collisions among live user codes are rare (N / 20^8) but possible; a few retries
 * make a failure astronomically unlikely while bounding the work per request.
 */
const USER_CODE_ATTEMPTS = 5

export interface DeviceAuthorizationSettings {
  issuer: string
  deviceCodeTtlSeconds: number
  pollIntervalSeconds: number
  userCodeLength: number
  maxLiveCodes: number
  maxLiveCodesPerClient: number
  defaultAudience: string
}

export interface DeviceAuthorizationRequest {
  client: ClientRecord
  scope: string | undefined
  /** RFC 8707 resource indicator: the API the token will be for. */
  resource: string | undefined
  ip: string | null
  userAgent: string | null
}

export interface DeviceAuthorizationResponse {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
  /** codepair extension: an SVG QR code of verification_uri_complete (".png" for PNG). */
  verification_qr_uri: string
}

export class DeviceAuthorizationService {
  constructor (
    private readonly settings: DeviceAuthorizationSettings,
    private readonly devices: DeviceAuthorizationStore,
    private readonly resourceServers: ResourceServerStore,
    private readonly userCodeKey: Buffer,
    private readonly liveCodes: LiveCodeGauge,
    private readonly clock: Clock,
    private readonly events: Emitter
  ) {}

  async start (req: DeviceAuthorizationRequest): Promise<DeviceAuthorizationResponse> {
    const { client } = req
    if (!client.grantTypes.includes(DEVICE_CODE_GRANT)) {
      throw new UnauthorizedClientError('this client may not use the device authorization grant')
    }
    const scope = resolveScope(client, req.scope)
    const { resource } = await resolveAudience(req.resource, parseScope(scope), this.settings.defaultAudience, this.resourceServers)

    // The client's share first, then the room of all clients: a client whose share is
    // spent never holds places of the shared room, even for a moment.
    const mine = await this.liveCodes.forClient(client.id).reserve(this.settings.maxLiveCodesPerClient)
    if (mine === null) {
      // Public client ids ship inside devices: one leaked id may fill its own share of
      // MAX_LIVE_CODES, never the room every other client pairs in.
      throw new TooManyRequestsError(`too many pending device authorizations for this client (at most ${this.settings.maxLiveCodesPerClient}); try again when some are used or expire`, 10)
    }
    const all = await this.liveCodes.reserve(this.settings.maxLiveCodes)
    if (all === null) {
      mine.cancel()
      // The brute-force bound assumes at most MAX_LIVE_CODES live codes (config.ts).
      throw new TemporarilyUnavailableError('too many pending device authorizations; try again shortly', 10)
    }
    try {
      return await this.issue(req, client, scope, resource, () => { all.commit(); mine.commit() })
    } finally {
      // No-ops once committed: a failed insert frees its places.
      all.cancel()
      mine.cancel()
    }
  }

  private async issue (req: DeviceAuthorizationRequest, client: DeviceAuthorizationRequest['client'], scope: string, resource: string | null, stored: () => void): Promise<DeviceAuthorizationResponse> {
    const now = this.clock()
    const deviceCode = generateDeviceCode()
    // Time-ordered (UUIDv7, 74 random bits): new rows append to the primary-key index
    // instead of touching a random page, which matters at thousands of inserts a second.
    const id = uuidv7({ random: randomBytesPooled(16), msecs: now })
    const verificationUri = `${this.settings.issuer}/activate`
    for (let attempt = 0; attempt < USER_CODE_ATTEMPTS; attempt++) {
      const userCode = generateUserCode(this.settings.userCodeLength)
      const expiresAt = new Date(now + this.settings.deviceCodeTtlSeconds * 1000)
      const userAgent = req.userAgent === null ? null : req.userAgent.slice(0, 512)
      try {
        await this.events.emit('device.code_issued', {
          grantId: id, clientId: client.id, scope, resource, ip: req.ip, userAgent, expiresAt: expiresAt.toISOString()
        }, async outbox => await this.devices.create({
          id,
          deviceCodeHash: sha256(deviceCode),
          userCodeHash: userCodeHmac(this.userCodeKey, userCode),
          clientId: client.id,
          scope,
          resource,
          createdAt: new Date(now),
          expiresAt,
          intervalSeconds: this.settings.pollIntervalSeconds,
          requestIp: req.ip,
          userAgent
        }, outbox))
      } catch (err) {
        if (err instanceof DuplicateUserCodeError) continue
        throw err
      }
      stored()
      const shown = formatUserCode(userCode)
      return {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(shown)}`,
        expires_in: this.settings.deviceCodeTtlSeconds,
        // Always sent: clients that fall back to their own default poll too fast.
        interval: this.settings.pollIntervalSeconds,
        verification_qr_uri: `${this.settings.issuer}/qr/${id}.svg?user_code=${encodeURIComponent(shown)}`
      }
    }
    throw new ServerError('could not allocate a unique user code')
  }
}

/** RFC 6749 §3.3: no scope → the client's default; anything outside its allowed set is refused. */
export function resolveScope (client: ClientRecord, requested: string | undefined): string {
  const asked = parseScope(requested)
  const scopes = asked.length > 0 ? asked : client.defaultScopes
  const notAllowed = scopes.filter(s => !client.scopes.includes(s))
  if (notAllowed.length > 0) throw new InvalidScopeError(`scope not allowed for this client: ${notAllowed.join(' ')}`)
  return formatScope(scopes)
}
