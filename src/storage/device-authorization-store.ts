import { randomBytesPooled } from '../oauth/random.js'
import {
  DuplicateUserCodeError,
  type DeviceAuthorizationRecord, type DeviceAuthorizationStore, type DeviceStatus, type GrantAuthentication, type IssuedGrant, type NewDeviceAuthorization, type Outbox, type PollResult
} from '../oauth/stores.js'
import { isUniqueViolation } from './errors.js'
import type { HotPath } from './hot-path.js'
import { changeWithOutbox, writeOutbox } from './outbox.js'
import type { Db, DbTx } from './prisma.js'

type Row = NonNullable<Awaited<ReturnType<Db['deviceAuthorization']['findUnique']>>>

const toRecord = (row: Row | null): DeviceAuthorizationRecord | null =>
  row === null ? null : { ...row, status: row.status as DeviceStatus }

export class PrismaDeviceAuthorizationStore implements DeviceAuthorizationStore {
  constructor (private readonly db: Db, private readonly hot: HotPath) {}

  async create (record: NewDeviceAuthorization, outbox: Outbox = []): Promise<void> {
    if (outbox.length === 0) {
      if (await this.hot.insertDeviceAuthorization(record) === 'duplicate') throw new DuplicateUserCodeError('user code already in use')
      return
    }
    // A webhook wants device.code_issued: the row and the outbox in one Prisma transaction
    // (slower than the hot path's one statement, paid only while such a subscription exists).
    try {
      await this.db.$transaction(async tx => {
        await tx.deviceAuthorization.create({ data: { ...record, status: 'pending' } })
        await writeOutbox(tx, outbox)
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateUserCodeError('user code already in use')
      throw err
    }
  }

  async poll (deviceCodeHash: string, clientId: string, now: Date, leewayMs: number, stepSeconds: number): Promise<PollResult | null> {
    return await this.hot.poll(deviceCodeHash, clientId, now.getTime(), leewayMs, stepSeconds, randomBytesPooled(12).toString('base64url'))
  }

  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceAuthorizationRecord | null> {
    return toRecord(await this.db.deviceAuthorization.findUnique({ where: { deviceCodeHash } }))
  }

  async findByUserCodeHash (userCodeHash: string): Promise<DeviceAuthorizationRecord | null> {
    return toRecord(await this.db.deviceAuthorization.findUnique({ where: { userCodeHash } }))
  }

  async findById (id: string): Promise<DeviceAuthorizationRecord | null> {
    return toRecord(await this.db.deviceAuthorization.findUnique({ where: { id } }))
  }

  async decide (id: string, status: 'approved' | 'denied', userId: string, now: Date, outbox: Outbox = [], authentication?: GrantAuthentication): Promise<boolean> {
    const change = async (tx: DbTx): Promise<boolean> => {
      const { count } = await tx.deviceAuthorization.updateMany({
        where: { id, status: 'pending', expiresAt: { gt: now } },
        data: { status, userId, decidedAt: now }
      })
      if (count === 1 && authentication !== undefined) {
        await tx.grantAuthentication.create({ data: { grantId: id, amr: authentication.amr.join(' '), acr: authentication.acr, at: authentication.at } })
      }
      return count === 1
    }
    if (authentication === undefined) return await changeWithOutbox(this.db, outbox, change, won => won)
    // The approval and how it was authenticated are one change: a poll never redeems it without its amr.
    return await this.db.$transaction(async tx => {
      const won = await change(tx)
      if (won) await writeOutbox(tx, outbox)
      return won
    })
  }

  async findAuthentication (grantId: string): Promise<GrantAuthentication | null> {
    const row = await this.db.grantAuthentication.findUnique({ where: { grantId } })
    return row === null ? null : { amr: row.amr.split(' ').filter(v => v !== ''), acr: row.acr, at: row.at }
  }

  async consume (id: string, now: Date, grant: IssuedGrant, outbox: Outbox = []): Promise<boolean> {
    return await this.db.$transaction(async tx => {
      // The conditional update is the single-use guarantee: a row lock (PostgreSQL) or
      // the database lock (SQLite) serialises concurrent attempts, and only the first
      // still sees status = 'approved'.
      const { count } = await tx.deviceAuthorization.updateMany({
        where: { id, status: 'approved', expiresAt: { gt: now } },
        data: { status: 'consumed', consumedAt: now }
      })
      if (count !== 1) return false
      if (grant.refreshToken !== undefined) await tx.refreshToken.create({ data: grant.refreshToken })
      await tx.auditEvent.create({
        data: {
          id: crypto.randomUUID(),
          at: now,
          type: 'token.issued',
          userId: grant.userId,
          clientId: grant.clientId,
          ip: grant.ip,
          detail: JSON.stringify({ grant: id, jti: grant.accessTokenId })
        }
      })
      await writeOutbox(tx, outbox)
      return true
    })
  }

  async revokeGrant (id: string, now: Date, outbox: Outbox = []): Promise<boolean> {
    return await this.db.$transaction(async tx => {
      const { count } = await tx.deviceAuthorization.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } })
      await tx.refreshToken.updateMany({ where: { grantId: id, revokedAt: null }, data: { revokedAt: now } })
      if (count === 1) await writeOutbox(tx, outbox)
      return count === 1
    })
  }

  async countLive (now: Date, clientId?: string): Promise<number> {
    // One client's count walks the live rows in (status, expiresAt), at most MAX_LIVE_CODES;
    // no index on clientId, which would cost every new code one more write.
    return await this.db.deviceAuthorization.count({
      where: { status: { in: ['pending', 'approved'] }, expiresAt: { gt: now }, ...(clientId === undefined ? {} : { clientId }) }
    })
  }

  async purgeExpired (expiredBefore: Date, consumedBefore: Date, limit: number): Promise<number> {
    const rows = await this.db.deviceAuthorization.findMany({
      where: {
        OR: [
          // An IN list, not `not: 'consumed'`, so (status, expiresAt) serves it as three ranges.
          { status: { in: ['pending', 'approved', 'denied'] }, expiresAt: { lt: expiredBefore } },
          // Consumed codes stay to detect replays, and while their refresh tokens live.
          { status: 'consumed', expiresAt: { lt: consumedBefore }, refreshTokens: { none: {} } }
        ]
      },
      select: { id: true },
      take: limit
    })
    if (rows.length === 0) return 0
    const ids = rows.map(r => r.id)
    const [{ count }] = await this.db.$transaction([
      this.db.deviceAuthorization.deleteMany({ where: { id: { in: ids } } }),
      this.db.grantAuthentication.deleteMany({ where: { grantId: { in: ids } } })
    ])
    return count
  }
}
