import type { NewRefreshToken, Outbox, RefreshTokenRecord, RefreshTokenStore } from '../oauth/stores.js'
import { writeOutbox } from './outbox.js'
import type { Db } from './prisma.js'

export class PrismaRefreshTokenStore implements RefreshTokenStore {
  constructor (private readonly db: Db) {}

  async findByHash (tokenHash: string): Promise<RefreshTokenRecord | null> {
    const row = await this.db.refreshToken.findUnique({ where: { tokenHash }, include: { grant: { select: { revokedAt: true } } } })
    if (row === null) return null
    const { grant, ...rest } = row
    return { ...rest, grantRevokedAt: grant.revokedAt }
  }

  async rotate (oldId: string, now: Date, next: NewRefreshToken): Promise<boolean> {
    return await this.db.$transaction(async tx => {
      // Compare-and-set: of two concurrent refreshes with one token, one rotates it.
      const { count } = await tx.refreshToken.updateMany({
        where: { id: oldId, rotatedAt: null, revokedAt: null },
        data: { rotatedAt: now, replacedById: next.id }
      })
      if (count !== 1) return false
      await tx.refreshToken.create({ data: next })
      return true
    })
  }

  async addSibling (next: NewRefreshToken): Promise<void> {
    await this.db.refreshToken.create({ data: next })
  }

  async revokeFamily (familyId: string, grantId: string, now: Date, outbox: Outbox = []): Promise<boolean> {
    return await this.db.$transaction(async tx => {
      await tx.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: now } })
      const { count } = await tx.deviceAuthorization.updateMany({ where: { id: grantId, revokedAt: null }, data: { revokedAt: now } })
      if (count === 1) await writeOutbox(tx, outbox)
      return count === 1
    })
  }

  async purgeExpired (now: Date, limit: number): Promise<number> {
    const rows = await this.db.refreshToken.findMany({
      // idleExpiresAt never exceeds expiresAt (token-service.ts), so one indexed column covers both.
      where: { idleExpiresAt: { lt: now } },
      select: { id: true },
      take: limit
    })
    if (rows.length === 0) return 0
    return (await this.db.refreshToken.deleteMany({ where: { id: { in: rows.map(r => r.id) } } })).count
  }
}
