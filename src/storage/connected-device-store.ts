import type { ConnectedDevice, ConnectedDeviceStore, Outbox } from '../oauth/stores.js'
import { writeOutbox } from './outbox.js'
import type { Db } from './prisma.js'

const GRANT = {
  id: true,
  clientId: true,
  scope: true,
  decidedAt: true,
  consumedAt: true,
  requestIp: true,
  userAgent: true,
  client: { select: { name: true } }
} as const

// A page lists at most this many; a person with more has a problem the CLI is better at.
const LIMIT = 200

export class PrismaConnectedDeviceStore implements ConnectedDeviceStore {
  constructor (private readonly db: Db) {}

  async listConnected (userId: string, now: Date, accessTokenTtlMs: number): Promise<ConnectedDevice[]> {
    const cutoff = new Date(now.getTime() - accessTokenTtlMs)
    const [refreshing, recent, waiting] = await Promise.all([
      // The current token of each live family (RefreshToken_userId_idx).
      this.db.refreshToken.findMany({
        where: { userId, revokedAt: null, rotatedAt: null, expiresAt: { gt: now }, idleExpiresAt: { gt: now }, grant: { revokedAt: null } },
        select: { createdAt: true, grant: { select: GRANT } },
        orderBy: { createdAt: 'desc' },
        take: LIMIT
      }),
      // Redeemed recently enough that its access token may still be live. A code expires
      // after it is redeemed, so expiresAt > cutoff narrows the scan to recent rows.
      this.db.deviceAuthorization.findMany({
        where: { userId, status: 'consumed', revokedAt: null, consumedAt: { gt: cutoff }, expiresAt: { gt: cutoff } },
        select: GRANT,
        take: LIMIT
      }),
      // Approved, not collected yet: the device's next poll gets the tokens.
      this.db.deviceAuthorization.findMany({
        where: { userId, status: 'approved', expiresAt: { gt: now } },
        select: GRANT,
        take: LIMIT
      })
    ])
    type Grant = (typeof recent)[number]
    const devices = new Map<string, ConnectedDevice>()
    // Refreshing rows come newest first and before the access-only ones, so the first row
    // seen for a grant is the one to show.
    const add = (g: Grant, lastActiveAt: Date, staysConnected: boolean, isWaiting = false) => {
      if (devices.has(g.id)) return
      devices.set(g.id, {
        grantId: g.id,
        clientId: g.clientId,
        clientName: g.client.name,
        scope: g.scope,
        approvedAt: g.decidedAt ?? g.consumedAt ?? lastActiveAt,
        requestIp: g.requestIp,
        userAgent: g.userAgent,
        lastActiveAt,
        staysConnected,
        waiting: isWaiting
      })
    }
    for (const g of waiting) add(g, g.decidedAt ?? now, false, true)
    for (const r of refreshing) add(r.grant, r.createdAt, true)
    for (const g of recent) add(g, g.consumedAt ?? now, false)
    return [...devices.values()].sort((a, b) => b.lastActiveAt.getTime() - a.lastActiveAt.getTime()).slice(0, LIMIT)
  }

  async disconnect (grantId: string, userId: string, now: Date, outbox: Outbox = []): Promise<boolean> {
    return await this.db.$transaction(async tx => {
      // Cancel first: if the device collects its tokens meanwhile, the revocation after it
      // still catches the grant (each statement sees what committed before it).
      const cancelled = await tx.deviceAuthorization.updateMany({ where: { id: grantId, userId, status: 'approved', expiresAt: { gt: now } }, data: { status: 'denied' } })
      const grant = await tx.deviceAuthorization.updateMany({ where: { id: grantId, userId, status: 'consumed', revokedAt: null }, data: { revokedAt: now } })
      await tx.refreshToken.updateMany({ where: { grantId, userId, revokedAt: null }, data: { revokedAt: now } })
      const changed = cancelled.count === 1 || grant.count === 1
      if (changed) await writeOutbox(tx, outbox)
      return changed
    })
  }
}
