import type { NewRefreshToken, Outbox, RefreshTokenRecord, RefreshTokenStore } from '../oauth/stores.js'
import { writeOutbox } from './outbox.js'
import type { Db, DbTx } from './prisma.js'

/** Thrown inside a transaction to roll it back when a conditional update finds the row changed. */
const STALE = Symbol('stale')

/**
 * Takes the grant's row for this transaction with a conditional update that changes
 * nothing: PostgreSQL holds the row lock until commit, SQLite the database lock. Every
 * change to a family starts here, so they queue behind one another instead of racing
 * (and cannot deadlock: the grant's row is always the first one locked), and none
 * starts once the grant is revoked.
 */
async function lockLiveGrant (tx: DbTx, grantId: string): Promise<void> {
  const { count } = await tx.deviceAuthorization.updateMany({ where: { id: grantId, revokedAt: null }, data: { revokedAt: null } })
  if (count !== 1) throw STALE
}

export class PrismaRefreshTokenStore implements RefreshTokenStore {
  constructor (private readonly db: Db) {}

  async findByHash (tokenHash: string): Promise<RefreshTokenRecord | null> {
    const row = await this.db.refreshToken.findUnique({ where: { tokenHash }, include: { grant: { select: { revokedAt: true } } } })
    if (row === null) return null
    const { grant, ...rest } = row
    return { ...rest, grantRevokedAt: grant.revokedAt }
  }

  /** Runs `fn` in a transaction; false when it threw STALE (everything rolled back). */
  private async conditional (fn: (tx: DbTx) => Promise<void>): Promise<boolean> {
    try {
      await this.db.$transaction(fn)
      return true
    } catch (err) {
      if (err === STALE) return false
      throw err
    }
  }

  async rotate (current: RefreshTokenRecord, now: Date, next: NewRefreshToken): Promise<boolean> {
    return await this.conditional(async tx => {
      await lockLiveGrant(tx, current.grantId)
      // Compare-and-set: of two concurrent refreshes with one token, one rotates it.
      const { count } = await tx.refreshToken.updateMany({
        where: { id: current.id, rotatedAt: null, revokedAt: null },
        data: { rotatedAt: now, replacedById: next.id }
      })
      if (count !== 1) throw STALE
      await tx.refreshToken.create({ data: next })
    })
  }

  async replaceSuccessor (rotated: RefreshTokenRecord, rotatedAfter: Date, now: Date, next: NewRefreshToken): Promise<boolean> {
    const successorId = rotated.replacedById
    if (successorId === null) return false
    return await this.conditional(async tx => {
      await lockLiveGrant(tx, rotated.grantId)
      // The successor must never have been used (not rotated) and still be live.
      const successor = await tx.refreshToken.updateMany({
        where: { id: successorId, familyId: rotated.familyId, rotatedAt: null, revokedAt: null },
        data: { revokedAt: now }
      })
      if (successor.count !== 1) throw STALE
      // …and still be the one this token handed over to, inside the grace window.
      const relinked = await tx.refreshToken.updateMany({
        where: { id: rotated.id, replacedById: successorId, revokedAt: null, rotatedAt: { gte: rotatedAfter } },
        data: { replacedById: next.id }
      })
      if (relinked.count !== 1) throw STALE
      await tx.refreshToken.create({ data: next })
    })
  }

  async revokeFamily (familyId: string, grantId: string, now: Date, outbox: Outbox = []): Promise<boolean> {
    // The grant first (the lock every family change takes first), then the tokens: a
    // rotation that held the lock has committed by then and its new token is revoked too.
    return await this.db.$transaction(async tx => {
      const { count } = await tx.deviceAuthorization.updateMany({ where: { id: grantId, revokedAt: null }, data: { revokedAt: now } })
      await tx.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: now } })
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
