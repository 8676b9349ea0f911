import type { AttemptStore, Counter } from '../oauth/stores.js'
import type { Db } from './prisma.js'

/** SQLite hands DateTime columns back from raw SQL as epoch milliseconds. */
export function toDate (v: unknown): Date {
  if (v instanceof Date) return v
  if (typeof v === 'bigint') return new Date(Number(v))
  if (typeof v === 'number') return new Date(v)
  const n = Number(v)
  return new Date(Number.isFinite(n) ? n : String(v))
}

export class PrismaAttemptStore implements AttemptStore {
  constructor (private readonly db: Db) {}

  async hit (key: string, windowSeconds: number, now: Date): Promise<Counter> {
    // One atomic upsert, so concurrent failures on several instances are all counted
    // (a read-then-write would lose increments). The limit is the column's (int4) largest value.
    const counter = await this.reserve(key, 2 ** 31 - 1, windowSeconds, now)
    if (counter === null) throw new Error('attempt counter upsert returned no row')
    return counter
  }

  async reserve (key: string, limit: number, windowSeconds: number, now: Date): Promise<Counter | null> {
    const ends = new Date(now.getTime() + windowSeconds * 1000)
    // The WHERE of ON CONFLICT DO UPDATE is evaluated on the row as locked (PostgreSQL
    // re-reads it after waiting; SQLite serialises writers), so the check and the count
    // are one step: of n parallel reservations exactly the ones that fit succeed.
    const rows = await this.db.$queryRaw<Array<{ count: number | bigint, windowEnds: unknown }>>`
      INSERT INTO "AttemptCounter" ("key", "count", "windowEnds") VALUES (${key}, 1, ${ends})
      ON CONFLICT ("key") DO UPDATE SET
        "count" = CASE WHEN "AttemptCounter"."windowEnds" <= ${now} THEN 1 ELSE "AttemptCounter"."count" + 1 END,
        "windowEnds" = CASE WHEN "AttemptCounter"."windowEnds" <= ${now} THEN ${ends} ELSE "AttemptCounter"."windowEnds" END
      WHERE "AttemptCounter"."windowEnds" <= ${now} OR "AttemptCounter"."count" < ${limit}
      RETURNING "count", "windowEnds"`
    const row = rows[0]
    return row === undefined ? null : { count: Number(row.count), windowEnds: toDate(row.windowEnds) }
  }

  async release (key: string, windowEnds: Date): Promise<void> {
    await this.db.attemptCounter.updateMany({ where: { key, windowEnds, count: { gt: 0 } }, data: { count: { decrement: 1 } } })
  }

  async peek (key: string, now: Date): Promise<Counter | null> {
    const row = await this.db.attemptCounter.findUnique({ where: { key } })
    if (row === null || row.windowEnds <= now) return null
    return { count: row.count, windowEnds: row.windowEnds }
  }

  async clear (key: string): Promise<void> {
    await this.db.attemptCounter.deleteMany({ where: { key } })
  }

  async purgeExpired (now: Date, limit: number): Promise<number> {
    const rows = await this.db.attemptCounter.findMany({ where: { windowEnds: { lt: now } }, select: { key: true }, take: limit })
    if (rows.length === 0) return 0
    return (await this.db.attemptCounter.deleteMany({ where: { key: { in: rows.map(r => r.key) } } })).count
  }
}
