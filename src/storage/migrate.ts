// Migrations: which are applied (read-only, so a running server never blocks it and an
// up-to-date database costs one SELECT), and applying the pending ones with
// `prisma migrate deploy` (through scripts/prisma.mjs: the CLI's bundled Wasm engines,
// nothing downloaded), waiting a bounded time for whoever holds the database.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { runPrisma } from '../../scripts/prisma.mjs'
import { EXIT, OperatorError } from '../exit-codes.js'
import type { DatabaseTarget } from './database-url.js'
import { databaseUnavailable, describeTarget } from './errors.js'
import { describeHolders, processesHolding } from './holders.js'

const ROOT = new URL('../../', import.meta.url).pathname

export interface MigrateResult { ok: boolean, output: string }

/** `prisma migrate deploy` on DATABASE_URL, as it is (the test helpers use it for templates). */
export function migrateDatabase (databaseUrl: string): MigrateResult {
  const r = runPrisma(['migrate', 'deploy'], { DATABASE_URL: databaseUrl }, 'pipe')
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`
  return { ok: r.status === 0, output }
}

export interface MigrationState {
  /** Committed migrations not applied yet, oldest first. */
  pending: string[]
  /** Started and never finished (Prisma refuses to go on until someone looks: P3009). */
  failed: string[]
  /** Applied here but unknown to this version: a newer codepair migrated the database. */
  unknown: string[]
}

export function committedMigrations (dialect: DatabaseTarget['dialect']): string[] {
  const dir = join(ROOT, 'prisma', dialect, 'migrations')
  return readdirSync(dir).filter(name => existsSync(join(dir, name, 'migration.sql'))).sort()
}

interface Row { migration_name: string, finished_at: unknown, rolled_back_at: unknown }

function stateFrom (dialect: DatabaseTarget['dialect'], rows: Row[]): MigrationState {
  const committed = committedMigrations(dialect)
  const applied = new Set(rows.filter(r => r.finished_at !== null && r.rolled_back_at === null).map(r => r.migration_name))
  return {
    pending: committed.filter(name => !applied.has(name)),
    failed: rows.filter(r => r.finished_at === null && r.rolled_back_at === null).map(r => r.migration_name),
    unknown: [...applied].filter(name => !committed.includes(name))
  }
}

const SELECT_MIGRATIONS = 'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations'

/** Reads Prisma's migration table without writing anything (a missing table or file: all pending). */
export async function readMigrationState (target: DatabaseTarget): Promise<MigrationState> {
  try {
    if (target.dialect === 'sqlite') {
      if (!existsSync(target.file)) return stateFrom('sqlite', [])
      const db = new Database(target.file, { readonly: true, fileMustExist: true, timeout: 5000 })
      try {
        const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get()
        return stateFrom('sqlite', table === undefined ? [] : db.prepare(SELECT_MIGRATIONS).all() as Row[])
      } finally {
        db.close()
      }
    }
    const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 5000 })
    await client.connect()
    try {
      const table = await client.query("SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present")
      return stateFrom('postgresql', table.rows[0]?.present === true ? (await client.query<Row>(SELECT_MIGRATIONS)).rows : [])
    } finally {
      await client.end().catch(() => {})
    }
  } catch (err) {
    throw databaseUnavailable(err, target) ?? err
  }
}

export function notMigratedMessage (state: MigrationState): string {
  const n = state.pending.length
  return `the database needs ${n} migration${n === 1 ? '' : 's'} (${state.pending.join(', ')}): run \`codepair migrate\` (or \`npm start\`, which migrates)`
}

// Prisma's PostgreSQL migration lock (pg_advisory_lock(72707369) in its schema engine).
const PRISMA_ADVISORY_LOCK = 72707369

async function postgresLockHolder (target: DatabaseTarget): Promise<string | null> {
  const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    const r = await client.query(
      `SELECT a.pid, a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [PRISMA_ADVISORY_LOCK])
    const h = r.rows[0] as { pid: number, application_name: string, client_addr: string | null } | undefined
    return h === undefined ? null : `PostgreSQL session ${h.pid} (${h.application_name || 'another migration'}${h.client_addr === null ? '' : ` from ${h.client_addr}`})`
  } finally {
    await client.end().catch(() => {})
  }
}

/** Who keeps us from migrating right now, in words; null when nobody is known to. */
async function holder (target: DatabaseTarget): Promise<string | null> {
  if (target.dialect === 'sqlite') {
    const holders = processesHolding(target.file)
    return holders.length === 0 ? null : describeHolders(holders)
  }
  return await postgresLockHolder(target)
}

// Prisma's lines that say nothing to an operator (its schema's placeholder url, config
// chatter, the Wasm and Rust stacks): left out of what we show when a migration fails.
const NOISE = /^(Prisma schema loaded|Datasource "|WARNING: Your schema specifies|- url$|The values from your schema|We recommend you to remove|Loaded Prisma config|Prisma config detected|\d+ migrations? found|\s+at |\s+\d+: |\s+with namespaces|\s*wasm:\/\/)/

export function prismaMessage (output: string): string {
  return output.split('\n').map(l => l.trimEnd()).filter(l => l !== '' && !NOISE.test(l)).join('\n')
}

/** SQLite's lock held by another connection (the engine maps SQLITE_BUSY to a variant it cannot name), or Prisma's PostgreSQL lock timeout. */
function isBusy (output: string): boolean {
  return /SocketTimeout|database is locked|SQLITE_BUSY|P1002|advisory lock/i.test(output)
}

export interface MigrateOptions {
  /** How long to wait for another process to let go of the database. */
  waitSeconds: number
  /** Progress lines while waiting (one at once, then about every 5 s). */
  onProgress?: (line: string) => void
  sleep?: (ms: number) => Promise<void>
}

/**
 * Applies the pending migrations. An up-to-date database is only read (a running server
 * cannot block that); otherwise this waits up to `waitSeconds` for whoever holds the
 * database, saying so, then applies them or gives up with one line naming the holder.
 */
export async function migrate (target: DatabaseTarget, options: MigrateOptions): Promise<{ applied: string[], state: MigrationState }> {
  const state = await readMigrationState(target)
  if (state.pending.length === 0 && state.failed.length === 0) return { applied: [], state }
  const sleep = options.sleep ?? (async (ms: number) => await new Promise(resolve => setTimeout(resolve, ms)))
  const where = describeTarget(target)
  const started = Date.now()
  let lastProgress = -Infinity
  for (;;) {
    const who = await holder(target)
    if (who === null) {
      // The Prisma CLI runs in the package folder: give it the file's absolute path.
      const r = migrateDatabase(target.dialect === 'sqlite' ? `file:${target.file}` : target.url)
      if (r.ok) return { applied: state.pending, state }
      if (!isBusy(r.output)) throw new OperatorError(`migrating ${where} failed:\n${prismaMessage(r.output)}`, EXIT.notMigrated)
    }
    const waited = (Date.now() - started) / 1000
    const holding = who ?? 'another process'
    if (waited >= options.waitSeconds) {
      const fix = target.dialect === 'sqlite'
        ? 'SQLite migrations need the file to themselves: stop it, then run `codepair migrate` again'
        : 'wait for it to finish, then run `codepair migrate` again'
      throw new OperatorError(`cannot migrate ${where}: ${holding} is using it (waited ${Math.round(waited)} s, MIGRATE_WAIT_SECONDS); ${fix}`, EXIT.databaseBusy)
    }
    if (waited - lastProgress >= 5) {
      lastProgress = waited
      options.onProgress?.(`waiting for ${holding} to let go of ${where} before migrating (${Math.round(waited)} s of ${options.waitSeconds} s)`)
    }
    await sleep(500)
  }
}
