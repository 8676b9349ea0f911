// The two statements every device sends most — create a device authorization, poll
// it — on the database driver itself, with prepared statements, one round trip each.
// Prisma costs ~0.5 ms per query here (see README, "Performance"); these run in tens of
// microseconds on SQLite. Everything else goes through Prisma. Both drivers batch what
// arrives in one turn of the event loop: SQLite shares one commit (groupCommit below),
// PostgreSQL sends one multi-row statement (hot-path-postgres.ts).
import Database from 'better-sqlite3'
import type pg from 'pg'
import { startCheckpointer } from './checkpointer.js'
import type { DatabaseTarget } from './database-url.js'
import type { NewDeviceAuthorization, PollResult } from '../oauth/stores.js'
import { postgresHotPath } from './hot-path-postgres.js'
import { COLUMNS, pollSql, toResult, type Row } from './hot-path-sql.js'

/** The connection the hot path runs on, for other per-request statements (access-token-status-store.ts). */
export type HotDriver = { dialect: 'sqlite', db: Database.Database } | { dialect: 'postgresql', pool: pg.Pool }

export interface HotPath {
  readonly driver: HotDriver
  insertDeviceAuthorization (rec: NewDeviceAuthorization): Promise<'ok' | 'duplicate'>
  poll (deviceCodeHash: string, clientId: string, now: number, leewayMs: number, stepSeconds: number, nonce: string): Promise<PollResult | null>
  close (): Promise<void>
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
    driver: { dialect: 'sqlite', db },
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

export function createHotPath (target: DatabaseTarget): HotPath {
  return target.dialect === 'sqlite' ? sqliteHotPath(target.file) : postgresHotPath(target.url)
}
