// The storage bundle: every store the app needs, over one Prisma client.
import { HotAccessTokenStatusStore } from './access-token-status-store.js'
import type { DatabaseTarget } from './database-url.js'
import { PrismaAccountSecurityStore } from './account-security-store.js'
import { PrismaAttemptStore } from './attempt-store.js'
import { PrismaAuditStore } from './audit-store.js'
import { PrismaClientPolicyStore } from './client-policy-store.js'
import { PrismaClientStore } from './client-store.js'
import { PrismaConfirmationStore } from './confirmation-store.js'
import { PrismaConnectedDeviceStore } from './connected-device-store.js'
import { PrismaDeviceAuthorizationStore } from './device-authorization-store.js'
import { isNotMigrated, notMigratedError } from './errors.js'
import { PrismaFactorStore, PrismaRecoveryCodeStore } from './factor-store.js'
import { createHotPath, type HotPath } from './hot-path.js'
import { PrismaIdentityStore } from './identity-store.js'
import { createPrismaClient, type Db } from './prisma.js'
import { QueryTiming, timedHotPath } from './query-timing.js'
import { PrismaRefreshTokenStore } from './refresh-token-store.js'
import { PrismaResourceServerStore } from './resource-server-store.js'
import { PrismaRevokedTokenStore } from './revoked-token-store.js'
import { PrismaSigningKeyStore } from './signing-key-store.js'
import { PrismaUserStore } from './user-store.js'
import { PrismaWebhookStore } from './webhook-store.js'

export interface Storage {
  readonly db: Db
  readonly dialect: DatabaseTarget['dialect']
  readonly clients: PrismaClientStore
  readonly users: PrismaUserStore
  readonly devices: PrismaDeviceAuthorizationStore
  readonly connectedDevices: PrismaConnectedDeviceStore
  readonly attempts: PrismaAttemptStore
  readonly audit: PrismaAuditStore
  readonly signingKeys: PrismaSigningKeyStore
  readonly refreshTokens: PrismaRefreshTokenStore
  readonly resourceServers: PrismaResourceServerStore
  readonly revokedTokens: PrismaRevokedTokenStore
  /** Whether an access token's grant, user, client and jti still stand (requireScope, introspection). */
  readonly accessTokenStatus: HotAccessTokenStatusStore
  /** Webhook subscriptions, the outbox and its delivery queue. */
  readonly webhooks: PrismaWebhookStore
  /** Second-factor configurations, recovery codes and one-time confirmation states. */
  readonly factors: PrismaFactorStore
  readonly recoveryCodes: PrismaRecoveryCodeStore
  readonly confirmations: PrismaConfirmationStore
  readonly clientPolicies: PrismaClientPolicyStore
  readonly accountSecurity: PrismaAccountSecurityStore
  /** Upstream sign-in: external identities linked to accounts. */
  readonly identities: PrismaIdentityStore
  /** Statement timings and pool counters, for the metrics (src/metrics). */
  readonly timing: QueryTiming
  /** Resolves when the database answers a trivial query. */
  ping (): Promise<void>
  close (): Promise<void>
}

export async function createStorage (target: DatabaseTarget, clock: () => number = Date.now): Promise<Storage> {
  const timing = new QueryTiming()
  const db = await createPrismaClient(target, timing)
  let hot: HotPath
  try {
    hot = timedHotPath(createHotPath(target), timing)
  } catch (err) {
    await db.$disconnect()
    // SQLite prepares its hot statements up front, so an unmigrated file fails here.
    if (isNotMigrated(err)) throw notMigratedError(err)
    throw err
  }
  return {
    db,
    dialect: target.dialect,
    clients: new PrismaClientStore(db, 5000, clock),
    users: new PrismaUserStore(db),
    devices: new PrismaDeviceAuthorizationStore(db, hot),
    connectedDevices: new PrismaConnectedDeviceStore(db),
    attempts: new PrismaAttemptStore(db),
    audit: new PrismaAuditStore(db),
    signingKeys: new PrismaSigningKeyStore(db),
    refreshTokens: new PrismaRefreshTokenStore(db),
    resourceServers: new PrismaResourceServerStore(db, 5000, clock),
    revokedTokens: new PrismaRevokedTokenStore(db),
    accessTokenStatus: new HotAccessTokenStatusStore(hot.driver),
    webhooks: new PrismaWebhookStore(db, target.dialect, 5000, clock),
    factors: new PrismaFactorStore(db),
    recoveryCodes: new PrismaRecoveryCodeStore(db),
    confirmations: new PrismaConfirmationStore(db),
    clientPolicies: new PrismaClientPolicyStore(db),
    accountSecurity: new PrismaAccountSecurityStore(db),
    identities: new PrismaIdentityStore(db),
    timing,
    async ping () { await db.$queryRawUnsafe('SELECT 1') },
    async close () { await Promise.all([db.$disconnect(), hot.close()]) }
  }
}
