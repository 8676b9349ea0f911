// The small storage interfaces the protocol core depends on (after fosite's storage
// interfaces). src/storage/ implements them with Prisma; nothing here knows Prisma.

export type ClientType = 'public' | 'confidential'

/**
 * An event to write with a change, in the same transaction: the webhook outbox
 * (src/events). Store methods that make a reportable change take an `outbox` and write
 * it only when the change happens; an empty outbox costs nothing.
 */
export interface OutboxEntry {
  /** evt_…, the webhook-id every receiver sees on every retry. */
  id: string
  type: string
  subject: string
  occurredAt: Date
  /** The JSON body the webhooks receive. */
  payload: string
  /** The webhook subscriptions that want this event: one delivery each. */
  subscriptionIds: readonly string[]
}

export type Outbox = readonly OutboxEntry[]

export interface ClientRecord {
  id: string
  name: string
  type: ClientType
  secretHash: string | null
  grantTypes: string[]
  scopes: string[]
  defaultScopes: string[]
  enabled: boolean
}

export interface UserRecord {
  id: string
  username: string
  passwordHash: string
  name: string | null
  email: string | null
  enabled: boolean
}

export type DeviceStatus = 'pending' | 'approved' | 'denied' | 'consumed'

export interface DeviceAuthorizationRecord {
  id: string
  deviceCodeHash: string
  userCodeHash: string
  clientId: string
  scope: string
  resource: string | null
  status: DeviceStatus
  userId: string | null
  createdAt: Date
  expiresAt: Date
  intervalSeconds: number
  lastPollAt: Date | null
  decidedAt: Date | null
  consumedAt: Date | null
  revokedAt: Date | null
  requestIp: string | null
  userAgent: string | null
}

export type NewDeviceAuthorization = Pick<DeviceAuthorizationRecord,
  'id' | 'deviceCodeHash' | 'userCodeHash' | 'clientId' | 'scope' | 'resource' | 'createdAt' |
  'expiresAt' | 'intervalSeconds' | 'requestIp' | 'userAgent'>

/** Thrown by DeviceAuthorizationStore.create when the user code hash is taken. */
export class DuplicateUserCodeError extends Error {
  readonly code = 'CODEPAIR_ERR_DUPLICATE_USER_CODE'
}

/** What is written in the same transaction that consumes a device code. */
export interface IssuedGrant {
  /** jti of the access token, kept so a replay can be traced to what was issued. */
  accessTokenId: string
  userId: string
  clientId: string
  ip: string | null
  refreshToken?: NewRefreshToken
}

export interface RefreshTokenRecord {
  id: string
  tokenHash: string
  familyId: string
  grantId: string
  userId: string
  clientId: string
  /** The scope the person granted; refreshes may narrow the access token's, never widen. */
  scope: string
  resource: string | null
  createdAt: Date
  expiresAt: Date
  idleExpiresAt: Date
  rotatedAt: Date | null
  revokedAt: Date | null
  replacedById: string | null
  authTime: Date
  /** Set when the device grant this family came from was revoked. */
  grantRevokedAt: Date | null
}

export type NewRefreshToken = Omit<RefreshTokenRecord, 'rotatedAt' | 'revokedAt' | 'replacedById' | 'grantRevokedAt'>

/**
 * Refresh-token families (RFC 9700 §4.14): a family never has more than one live token
 * (neither rotated nor revoked). Every method that changes a family first takes the
 * grant's row with a conditional update (refused once the grant is revoked), so changes
 * to one family run one after another on every database, and a family revoked while a
 * rotation was in flight cannot keep the token that rotation wrote.
 */
export interface RefreshTokenStore {
  findByHash (tokenHash: string): Promise<RefreshTokenRecord | null>
  /**
   * Marks `current` rotated and stores `next` as its successor, in one transaction;
   * false (nothing written) if the token was rotated or revoked, or its grant revoked,
   * since it was read.
   */
  rotate (current: RefreshTokenRecord, now: Date, next: NewRefreshToken): Promise<boolean>
  /**
   * A retry with `rotated` (grace window): revokes its successor, which must never have
   * been used, and makes `next` the successor instead, in one transaction of
   * conditional updates; false (nothing written) if the successor was used or revoked,
   * `rotated` was rotated before `rotatedAfter`, or the grant was revoked.
   */
  replaceSuccessor (rotated: RefreshTokenRecord, rotatedAfter: Date, now: Date, next: NewRefreshToken): Promise<boolean>
  /** Revokes the device grant and every token of the family (with the outbox); true if the grant was live until now. */
  revokeFamily (familyId: string, grantId: string, now: Date, outbox?: Outbox): Promise<boolean>
}

export interface ResourceServerRecord {
  id: string
  identifier: string
  name: string
  scopes: string[]
  enabled: boolean
}

export interface ResourceServerStore {
  findResourceServer (identifier: string): Promise<ResourceServerRecord | null>
}

export interface RevokedTokenStore {
  revoke (jti: string, expiresAt: Date): Promise<void>
  isRevoked (jti: string): Promise<boolean>
}

/** What storage needs to know about a verified access token (its RFC 9068 claims). */
export interface AccessTokenRef {
  jti: string
  /** `sub` */
  userId: string
  clientId: string
  /** `grant_id`; null in tokens issued before the claim existed. */
  grantId: string | null
}

/**
 * Whether an access token still stands: its grant is redeemed and not revoked (not
 * disconnected, no replay, no revoked refresh family), its user and client exist and are
 * enabled, and its jti was not revoked (RFC 7009). Reads what has committed, on every
 * instance: a revocation counts for every request that arrives after it.
 */
export interface AccessTokenStatusStore {
  isLive (ref: AccessTokenRef): Promise<boolean>
}

export interface ClientStore {
  findClient (id: string): Promise<ClientRecord | null>
}

export type NewUser = Pick<UserRecord, 'id' | 'username' | 'passwordHash' | 'name' | 'email'>

export interface UserStore {
  /** Throws on a taken username (Prisma P2002, isUniqueViolation). */
  createUser (user: NewUser, outbox?: Outbox): Promise<UserRecord>
  findUserById (id: string): Promise<UserRecord | null>
  findUserByUsername (username: string): Promise<UserRecord | null>
  updatePasswordHash (id: string, passwordHash: string): Promise<void>
}

/** What one poll statement saw and did (DeviceAuthorizationStore.poll). */
export interface PollResult {
  /** This poll was on time and recorded; false: too early, and the interval grew. */
  accepted: boolean
  id: string
  status: DeviceStatus
  /** The interval after this poll. */
  intervalSeconds: number
  userId: string | null
  scope: string
  resource: string | null
  decidedAt: Date | null
}

/** How the approving person authenticated (OIDC Core §2 amr and acr), recorded with the approval. */
export interface GrantAuthentication {
  /** RFC 8176 values. */
  amr: string[]
  acr: string
  /** When the last factor was proven. */
  at: Date
}

export interface DeviceAuthorizationStore {
  create (record: NewDeviceAuthorization, outbox?: Outbox): Promise<void>
  /**
   * RFC 8628 §3.5 in one atomic step, for a live (unexpired, unconsumed, unrevoked) code
   * of this client: a poll at least `intervalSeconds − leewayMs` after the last accepted
   * one (or the first) is recorded; an earlier one adds `stepSeconds` to the interval.
   * null when no live code of this client matches.
   */
  poll (deviceCodeHash: string, clientId: string, now: Date, leewayMs: number, stepSeconds: number): Promise<PollResult | null>
  findByDeviceCodeHash (hash: string): Promise<DeviceAuthorizationRecord | null>
  findByUserCodeHash (hash: string): Promise<DeviceAuthorizationRecord | null>
  findById (id: string): Promise<DeviceAuthorizationRecord | null>
  /**
   * pending → approved/denied, once: false if it was no longer pending or had expired.
   * `authentication` is written in the same transaction when the decision is made.
   */
  decide (id: string, status: 'approved' | 'denied', userId: string, now: Date, outbox?: Outbox, authentication?: GrantAuthentication): Promise<boolean>
  /** What decide() recorded about the approver's authentication; null for approvals made without it. */
  findAuthentication (grantId: string): Promise<GrantAuthentication | null>
  /**
   * approved → consumed and the grant written, in one transaction; false unless this
   * call made the transition (exactly one concurrent caller wins).
   */
  consume (id: string, now: Date, grant: IssuedGrant, outbox?: Outbox): Promise<boolean>
  /** A consumed code was replayed: revoke what it issued (RFC 6749 §4.1.2 by analogy); true if it was live until now. */
  revokeGrant (id: string, now: Date, outbox?: Outbox): Promise<boolean>
  /** Live codes: all of them, or one client's (the per-client cap). */
  countLive (now: Date, clientId?: string): Promise<number>
  /**
   * Deletes at most `limit` rows: undecided or unredeemed ones that expired before
   * `expiredBefore`, consumed ones (kept to detect replays) that expired before
   * `consumedBefore`. Returns how many.
   */
  purgeExpired (expiredBefore: Date, consumedBefore: Date, limit: number): Promise<number>
}

/** A device a person connected: a redeemed device grant that still has live tokens. */
export interface ConnectedDevice {
  grantId: string
  clientId: string
  clientName: string
  scope: string
  approvedAt: Date
  requestIp: string | null
  userAgent: string | null
  /** When the device last received tokens: the redemption or its latest refresh. */
  lastActiveAt: Date
  /** A refresh token keeps it connected; false: only an access token, until that expires. */
  staysConnected: boolean
  /** Approved, and the device has not collected its tokens yet (its next poll will). */
  waiting: boolean
}

/** The person's view of their grants (RFC-CHECKLIST "Tokens": revoked when the person revokes the device). */
export interface ConnectedDeviceStore {
  /** Newest first; grants without a live refresh token are included while their access token may live. */
  listConnected (userId: string, now: Date, accessTokenTtlMs: number): Promise<ConnectedDevice[]>
  /**
   * Revokes the grant and its refresh tokens if it is this user's and still live, or, when
   * the device has not collected its tokens yet, turns the approval into a denial (its next
   * poll gets access_denied); false otherwise. `outbox` is written only when it changed something.
   */
  disconnect (grantId: string, userId: string, now: Date, outbox?: Outbox): Promise<boolean>
}

export interface Counter { count: number, windowEnds: Date }

/** Fixed-window counters shared by all instances (brute-force budgets, sign-in throttling). */
export interface AttemptStore {
  /** Adds one in the current window (a new window starts when the last one ended). */
  hit (key: string, windowSeconds: number, now: Date): Promise<Counter>
  /** The live counter, or null when none or its window has ended. */
  peek (key: string, now: Date): Promise<Counter | null>
  clear (key: string): Promise<void>
  /**
   * Takes one attempt in the current window only while the count is below `limit`, in
   * one conditional statement (so parallel requests can never overshoot); null when
   * the budget is spent.
   */
  reserve (key: string, limit: number, windowSeconds: number, now: Date): Promise<Counter | null>
  /** Gives back an attempt taken by reserve(), if the window it was taken in is still the current one. */
  release (key: string, windowEnds: Date): Promise<void>
}

export interface AuditEntry {
  type: string
  userId?: string | null
  clientId?: string | null
  ip?: string | null
  detail?: Record<string, unknown>
}

export interface AuditStore {
  record (entry: AuditEntry, now: Date): Promise<void>
}
