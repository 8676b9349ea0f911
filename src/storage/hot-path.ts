// The two statements every device sends most — create a device authorization, poll
// it — on the database driver itself, with prepared statements, one round trip each.
// Prisma costs ~0.5 ms per query here (see README, "Performance"); these run in tens of
// microseconds on SQLite. Everything else goes through Prisma.
import Database from 'better-sqlite3'
import pg from 'pg'
import { startCheckpointer } from './checkpointer.js'
import type { DatabaseTarget } from './database-url.js'
import type { DeviceStatus, NewDeviceAuthorization, PollResult } from '../oauth/stores.js'

export interface HotPath {
  insertDeviceAuthorization (rec: NewDeviceAuthorization): Promise<'ok' | 'duplicate'>
  poll (deviceCodeHash: string, clientId: string, now: number, leewayMs: number, stepSeconds: number, nonce: string): Promise<PollResult | null>
  close (): Promise<void>
  /** The connections of its pool (PostgreSQL), for the metrics. */
  poolStats?: () => { total: number, idle: number, waiting: number }
}

const COLUMNS = '"id", "deviceCodeHash", "userCodeHash", "clientId", "scope", "resource", "status", "createdAt", "expiresAt", "intervalSeconds", "requestIp", "userAgent"'

/**
 * RFC 8628 §3.5 in one statement. A poll is on time when none was accepted before or
 * the interval (less the leeway) has passed since the last accepted one; on time, it
 * records itself (lastPollAt, pollNonce); too early, it adds `step` seconds to the
 * interval. SET expressions read the row as it was, and the row lock (PostgreSQL) or
 * the database lock (SQLite) orders concurrent polls, so of two simultaneous polls the
 * second sees the first's lastPollAt and is too early. The RETURNING row tells the
 * caller which happened: its own nonce means accepted. Unknown, foreign, consumed,
 * revoked and expired codes match no row; the caller then looks at why.
 */
function pollSql (onTime: string, p: (name: 'now' | 'step' | 'nonce' | 'hash' | 'client') => string): string {
  return `UPDATE "DeviceAuthorization" SET
      "lastPollAt" = CASE WHEN ${onTime} THEN ${p('now')} ELSE "lastPollAt" END,
      "pollNonce" = CASE WHEN ${onTime} THEN ${p('nonce')} ELSE "pollNonce" END,
      "intervalSeconds" = CASE WHEN ${onTime} THEN "intervalSeconds" ELSE "intervalSeconds" + ${p('step')} END
    WHERE "deviceCodeHash" = ${p('hash')} AND "clientId" = ${p('client')} AND "status" <> 'consumed'
      AND "revokedAt" IS NULL AND "expiresAt" > ${p('now')}
    RETURNING "id", "status", "intervalSeconds", "pollNonce", "userId", "scope", "resource", "decidedAt"`
}

interface Row { id: string, status: string, intervalSeconds: number, pollNonce: string | null, userId: string | null, scope: string, resource: string | null, decidedAt: number | string | Date | null }

const toResult = (row: Row | undefined, nonce: string): PollResult | null => row === undefined
  ? null
  : {
      accepted: row.pollNonce === nonce,
      id: row.id,
      status: row.status as DeviceStatus,
      intervalSeconds: row.intervalSeconds,
      userId: row.userId,
      scope: row.scope,
      resource: row.resource,
      decidedAt: row.decidedAt === null ? null : new Date(typeof row.decidedAt === 'string' ? Number(row.decidedAt) : row.decidedAt)
    }

/**
 * Group commit: statements arriving in the same turn of the event loop run in one
 * transaction, and each caller is answered once it has committed. A commit costs far
 * more than a statement here (every dirty page goes to the WAL with its own write), so
 * under load this divides the cost of the commits by the number of requests in flight.
 * A failing statement fails only its own caller: SQLite undoes just that statement.
 */
function groupCommit (db: Database.Database) {
  let queue: Array<{ run: () => unknown, resolve: (v: unknown) => void, reject: (e: unknown) => void }> = []
  const flush = () => {
    const batch = queue
    queue = []
    const results: Array<{ ok: boolean, value: unknown }> = []
    try {
      db.transaction(() => {
        for (const item of batch) {
          try {
            results.push({ ok: true, value: item.run() })
          } catch (err) {
            results.push({ ok: false, value: err })
          }
        }
      })()
    } catch (err) {
      for (const item of batch) item.reject(err)
      return
    }
    batch.forEach((item, i) => { const r = results[i]; if (r?.ok === true) item.resolve(r.value); else item.reject(r?.value) })
  }
  return <T>(run: () => T): Promise<T> => new Promise<T>((resolve, reject) => {
    if (queue.length === 0) setImmediate(flush)
    queue.push({ run, resolve: resolve as (v: unknown) => void, reject })
  })
}

function sqliteHotPath (file: string): HotPath {
  const db = new Database(file, { timeout: 5000 })
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  // Keep the hot rows and indexes in memory: with 100,000 live codes SQLite's default
  // 2 MiB page cache would read most polls from the OS.
  db.pragma('cache_size = -65536')
  db.pragma('mmap_size = 268435456')
  // Checkpoints run in a worker thread instead of inside a request's commit (checkpointer.ts).
  db.pragma('wal_autocheckpoint = 0')
  let insert: Database.Statement
  let poll: Database.Statement
  try {
    insert = db.prepare(`INSERT INTO "DeviceAuthorization" (${COLUMNS}) VALUES (${Array(12).fill('?').join(', ')})`)
    // DateTime columns hold epoch milliseconds (adapters.ts), so the arithmetic is plain integers.
    poll = db.prepare(pollSql('("lastPollAt" IS NULL OR @now - "lastPollAt" >= "intervalSeconds" * 1000 - @leeway)', name => `@${name}`))
  } catch (err) {
    db.close()
    throw err
  }
  const checkpointer = startCheckpointer(file)
  const inBatch = groupCommit(db)
  return {
    async insertDeviceAuthorization (r) {
      try {
        await inBatch(() => insert.run(r.id, r.deviceCodeHash, r.userCodeHash, r.clientId, r.scope, r.resource, 'pending', r.createdAt.getTime(), r.expiresAt.getTime(), r.intervalSeconds, r.requestIp, r.userAgent))
        return 'ok'
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'duplicate'
        throw err
      }
    },
    async poll (hash, clientId, now, leewayMs, step, nonce) {
      return toResult(await inBatch(() => poll.get({ now, leeway: leewayMs, step, nonce, hash, client: clientId }) as Row | undefined), nonce)
    },
    async close () {
      await checkpointer.stop()
      db.close()
    }
  }
}

/** timestamp(3) without time zone, as Prisma writes it: UTC wall-clock time. */
const pgTimestamp = (ms: number) => new Date(ms).toISOString().replace('Z', '')

function postgresHotPath (url: string): HotPath {
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  pool.on('error', () => {}) // an idle client dropped by the server: the pool replaces it
  const insertText = `INSERT INTO "DeviceAuthorization" (${COLUMNS}) VALUES (${Array.from({ length: 12 }, (_, i) => `$${i + 1}`).join(', ')})`
  const pollText = pollSql(
    '("lastPollAt" IS NULL OR $1::timestamp(3) - "lastPollAt" >= make_interval(secs => "intervalSeconds" - $2::float8 / 1000))',
    name => ({ now: '$1::timestamp(3)', step: '$3', nonce: '$4', hash: '$5', client: '$6' })[name]
  ).replace('"decidedAt"', '(extract(epoch from "decidedAt") * 1000)::float8 AS "decidedAt"')
  return {
    async insertDeviceAuthorization (r) {
      try {
        await pool.query({
          name: 'codepair_insert_device_authorization',
          text: insertText,
          values: [r.id, r.deviceCodeHash, r.userCodeHash, r.clientId, r.scope, r.resource, 'pending', pgTimestamp(r.createdAt.getTime()), pgTimestamp(r.expiresAt.getTime()), r.intervalSeconds, r.requestIp, r.userAgent]
        })
        return 'ok'
      } catch (err) {
        if ((err as { code?: string }).code === '23505') return 'duplicate'
        throw err
      }
    },
    async poll (hash, clientId, now, leewayMs, step, nonce) {
      // A named query is prepared once per connection.
      const res = await pool.query<Row>({ name: 'codepair_poll', text: pollText, values: [pgTimestamp(now), leewayMs, step, nonce, hash, clientId] })
      return toResult(res.rows[0], nonce)
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close () { await pool.end() }
  }
}

export function createHotPath (target: DatabaseTarget): HotPath {
  return target.dialect === 'sqlite' ? sqliteHotPath(target.file) : postgresHotPath(target.url)
}
