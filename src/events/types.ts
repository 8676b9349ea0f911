// The events codepair emits, their data, and the hooks an operator can attach to them.
// Payloads never carry codes, tokens, secrets or passwords: ids, names and addresses only.
// A leaf module (types and one error class): the protocol core imports it as it imports
// its store interfaces, and src/events/bus.ts implements Emitter.
import type { Outbox } from '../oauth/stores.js'

export interface UserSummary {
  id: string
  username: string
  name: string | null
  email: string | null
}

/** How a person signed in (14-upstream adds 'upstream' with the provider's name). */
export type SignInMethod = 'password' | 'upstream'

export interface GrantSummary {
  /** The device authorization (grant) id: the subject of every device.* and grant.* event. */
  grantId: string
  clientId: string
  scope: string
  /** RFC 8707 resource the tokens are for; null → DEFAULT_AUDIENCE. */
  resource: string | null
}

export interface EventData {
  'user.created': { user: UserSummary, source: 'cli' | 'upstream' | 'api', provider?: string }
  'user.signed_in': { user: UserSummary, method: SignInMethod, provider?: string, ip: string | null }
  'user.signed_out': { userId: string, ip: string | null }
  /** `username` is what was typed (it may name no account); `locked`: the sign-in throttle refused it. */
  'user.sign_in_failed': { username: string, reason: 'invalid' | 'locked', method: SignInMethod, provider?: string, ip: string | null }
  'device.code_issued': GrantSummary & { ip: string | null, userAgent: string | null, expiresAt: string }
  'device.approved': GrantSummary & { userId: string, ip: string | null }
  'device.denied': GrantSummary & { userId: string, ip: string | null }
  'device.tokens_issued': GrantSummary & { userId: string, audience: string, refreshToken: boolean, ip: string | null }
  /** A redeemed device code came back (it leaked): what it issued is revoked. */
  'device.code_reused': { grantId: string, clientId: string, userId: string | null, ip: string | null }
  'grant.revoked': { grantId: string, clientId: string, userId: string, reason: 'disconnected' | 'revocation_endpoint' }
  /** A rotated refresh token came back after the grace window: the family and grant are revoked (RFC 9700 §4.14). */
  'refresh.reuse_detected': { grantId: string, familyId: string, clientId: string, userId: string }
  /** A wrong code exhausted a code-entry budget (RFC 8628 §5.1): entry is paused until `until`. */
  'user_code.guessing_limited': { ip: string, until: string }
  'key.rotated': { kid: string, alg: string, activateAt: string }
}

export type EventType = keyof EventData

export const EVENT_TYPES = [
  'user.created', 'user.signed_in', 'user.signed_out', 'user.sign_in_failed',
  'device.code_issued', 'device.approved', 'device.denied', 'device.tokens_issued', 'device.code_reused',
  'grant.revoked', 'refresh.reuse_detected', 'user_code.guessing_limited', 'key.rotated'
] as const satisfies readonly EventType[]

/** Events a `before` hook may veto: they are about to happen when the hook runs. */
export const VETOABLE_EVENTS = ['user.created', 'user.signed_in', 'device.approved'] as const
export type VetoableEventType = typeof VETOABLE_EVENTS[number]

export interface CodepairEvent<K extends EventType = EventType> {
  /** evt_…: unique, the same on every webhook retry (receivers' idempotency key). */
  id: string
  type: K
  occurredAt: Date
  /** Events of one subject are delivered to each webhook in order (user id, grant id…). */
  subject: string
  data: EventData[K]
}

/** What a `before` hook returns to stop the change; anything else lets it happen. */
export interface Veto { veto: string }

export interface HookContext {
  /** pino child logger of the app. */
  log: { info: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void, error: (obj: object, msg?: string) => void }
  /** Aborted when HOOK_TIMEOUT_MS has passed: pass it to fetch() and the like. */
  signal: AbortSignal
}

export type EventHandler<K extends EventType> = (event: CodepairEvent<K>, ctx: HookContext) => unknown
export type GuardHandler<K extends VetoableEventType> = (event: CodepairEvent<K>, ctx: HookContext) => Veto | undefined | void | Promise<Veto | undefined | void>

/** What a permission provider receives when a token for its audience is issued or refreshed. */
export interface PermissionRequest {
  audience: string
  user: UserSummary
  clientId: string
  /** The API scopes asked for (identity scopes such as openid are codepair's and never passed). */
  scopes: string[]
  grantType: 'device_code' | 'refresh_token'
}

/**
 * `scopes`: the API scopes granted, a subset of those requested (extra ones are dropped);
 * `permissions`: a JSON object put in the access token as the `permissions` claim;
 * `deny`: refuse the token (the device gets access_denied, a refresh invalid_grant).
 */
export type PermissionResult = { scopes: string[], permissions?: Record<string, unknown> } | { deny: string }

export type PermissionProvider = (request: PermissionRequest, ctx: HookContext) => PermissionResult | Promise<PermissionResult>

/**
 * Extension hooks: `buildApp(config, { hooks })`, or a module named by HOOKS_MODULE whose
 * default export (or `hooks` export) is this object.
 */
export interface Hooks {
  /** Run just before the change is committed, awaited; returning { veto } stops it. */
  before?: { [K in VetoableEventType]?: GuardHandler<K> }
  /** Run after the change is committed, never awaited by the request. */
  on?: { [K in EventType]?: EventHandler<K> }
  /** Per resource server (its identifier, the token's aud): decides scopes and permissions. */
  permissions?: Record<string, PermissionProvider>
}

/**
 * What the rest of codepair calls to report an event: one call per event site.
 *   await events.emit('user.signed_out', { userId, ip })
 * When the event reports a change to the database, pass the change: it receives the
 * outbox to write in its own transaction, and its result is returned. A result of
 * `false` means the change did not happen: nothing is published. For the vetoable
 * events, `before` hooks run first and a veto throws EventVetoedError (nothing changes).
 *   const won = await events.emit('device.approved', data, outbox => devices.decide(id, 'approved', userId, now, outbox))
 */
export interface Emitter {
  emit<K extends EventType>(type: K, data: EventData[K]): Promise<void>
  emit<K extends EventType, T>(type: K, data: EventData[K], change: (outbox: Outbox) => Promise<T>): Promise<T>
}

/** Thrown by emit() when a `before` hook vetoed the change, or could not decide (threw or timed out: fail closed). */
export class EventVetoedError extends Error {
  readonly code = 'CODEPAIR_ERR_EVENT_VETOED'
  constructor (readonly type: EventType, readonly reason: string, readonly hookFailed = false) {
    super(`${type} vetoed by a hook: ${reason}`)
    this.name = 'EventVetoedError'
  }
}
