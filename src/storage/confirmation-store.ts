// One-time confirmation states (src/accounts/confirmations.ts).
import type { ConfirmationPurpose, ConfirmationRecord, ConfirmationStore } from '../accounts/confirmations.js'
import type { Db } from './prisma.js'

export class PrismaConfirmationStore implements ConfirmationStore {
  constructor (private readonly db: Db) {}

  async create (record: ConfirmationRecord): Promise<void> {
    await this.db.confirmation.create({ data: record })
  }

  async find (id: string): Promise<ConfirmationRecord | null> {
    const row = await this.db.confirmation.findUnique({ where: { id } })
    return row === null ? null : { ...row, purpose: row.purpose as ConfirmationPurpose }
  }

  async use (id: string, binding: string, purpose: ConfirmationPurpose, now: Date): Promise<boolean> {
    // Single use under any interleaving: the row lock (PostgreSQL) or the database lock
    // (SQLite) serialises concurrent updates, and only the first still sees usedAt null.
    const { count } = await this.db.confirmation.updateMany({ where: { id, binding, purpose, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } })
    return count === 1
  }

  async purgeExpired (now: Date, limit: number): Promise<number> {
    const rows = await this.db.confirmation.findMany({ where: { expiresAt: { lt: now } }, select: { id: true }, take: limit })
    if (rows.length === 0) return 0
    return (await this.db.confirmation.deleteMany({ where: { id: { in: rows.map(r => r.id) } } })).count
  }
}
