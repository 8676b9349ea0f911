// Online backups of the embedded SQLite database, and putting one back.
//
// backup: SQLite's online backup API (better-sqlite3's db.backup) from a connection of
// its own, while the server goes on writing. All pages are copied in one step, that is
// inside one read transaction: in WAL mode writers are never blocked by it, and the copy
// is the database exactly as it was when the step began (a step-by-step backup would
// restart each time the server commits, which under load is always). The copy goes to
// a temporary file beside FILE, is checked (integrity_check) and renamed into place, so
// FILE is never half written. It is switched to journal_mode=DELETE: one self-contained
// file, no -wal beside it.
//
// restore: refuses while any process has the database open (a server would go on with
// its old pages and its WAL, and corrupt the file), checks that FILE is a codepair
// database at a migration level this version knows, copies the database it replaces
// aside (with the backup API too, so committed pages still in the WAL are kept), then
// renames FILE's copy into place and removes the old -wal and -shm.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { EXIT, OperatorError } from '../exit-codes.js'
import type { DatabaseTarget } from './database-url.js'
import { describeHolders, processesHolding } from './holders.js'
import { committedMigrations } from './migrate.js'

/** Tables every codepair database has had since its first migration. */
const CORE_TABLES = ['_prisma_migrations', 'Client', 'User', 'DeviceAuthorization']

export interface BackupResult {
  source: string
  file: string
  bytes: number
  pages: number
  /** The newest migration applied in the copy. */
  migration: string | null
  seconds: number
}

export interface DatabaseCheck {
  applied: string[]
  /** Migrations of this version the file does not have yet (an older backup: `codepair migrate` applies them). */
  pending: string[]
}

const stamp = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')

function temporaryBeside (file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`)
}

function removeQuietly (file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true })
}

/** Copies the database open as `db` into `file` in one backup step (one consistent snapshot). */
async function copyDatabase (db: Database.Database, file: string): Promise<number> {
  // The first step (0 pages) only starts the backup; the handler's answer makes the next
  // step copy everything at once.
  const result = await db.backup(file, { progress: () => 0x7fffffff })
  return result.totalPages
}

/**
 * Opens `path` read-only and checks it is a sound codepair database this version
 * understands; messages call it `file` (a temporary copy is named after its source).
 */
export function checkCodepairDatabase (path: string, file = path): DatabaseCheck {
  if (!existsSync(path)) throw new OperatorError(`${file} does not exist`, EXIT.usage)
  let db: Database.Database
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new OperatorError(`${file} cannot be opened as a SQLite database (${(err as Error).message})`, EXIT.usage, { cause: err })
  }
  try {
    let integrity: string
    try {
      integrity = (db.pragma('integrity_check', { simple: true }) as string)
    } catch (err) {
      throw new OperatorError(`${file} is not a SQLite database (${(err as Error).message})`, EXIT.usage, { cause: err })
    }
    if (integrity !== 'ok') throw new OperatorError(`${file} is damaged: integrity_check says "${integrity}"`, EXIT.usage)
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map(r => r.name))
    const missing = CORE_TABLES.filter(t => !tables.has(t))
    if (missing.length > 0) throw new OperatorError(`${file} is not a codepair database (no ${missing.join(', ')} table)`, EXIT.usage)
    const rows = db.prepare('SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name').all() as Array<{ migration_name: string, finished_at: unknown, rolled_back_at: unknown }>
    const committed = committedMigrations('sqlite')
    const applied = rows.filter(r => r.finished_at !== null && r.rolled_back_at === null).map(r => r.migration_name)
    const failed = rows.filter(r => r.finished_at === null && r.rolled_back_at === null).map(r => r.migration_name)
    const unknown = applied.filter(m => !committed.includes(m))
    if (unknown.length > 0) {
      throw new OperatorError(`${file} was migrated by a newer codepair (${unknown.join(', ')} is unknown to this version): restore it with that version`, EXIT.usage)
    }
    if (failed.length > 0) throw new OperatorError(`${file} has a migration that never finished (${failed.join(', ')}): it was copied mid-migration; use another backup`, EXIT.usage)
    return { applied, pending: committed.filter(m => !applied.includes(m)) }
  } finally {
    db.close()
  }
}

function sqliteOnly (target: DatabaseTarget, command: 'backup' | 'restore'): asserts target is Extract<DatabaseTarget, { dialect: 'sqlite' }> {
  if (target.dialect === 'sqlite') return
  throw new OperatorError(command === 'backup'
    ? 'DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g. pg_dump --format=custom --file=codepair.dump "$DATABASE_URL"'
    : 'DATABASE_URL is PostgreSQL: restore with pg_restore, e.g. pg_restore --clean --if-exists --dbname="$DATABASE_URL" codepair.dump', EXIT.usage)
}

export async function backupDatabase (target: DatabaseTarget, file: string, options: { force?: boolean } = {}): Promise<BackupResult> {
  sqliteOnly(target, 'backup')
  const started = process.hrtime.bigint()
  if (file === target.file) throw new OperatorError(`${file} is the database itself: give another file name`, EXIT.usage)
  if (existsSync(file) && options.force !== true) throw new OperatorError(`${file} already exists: choose another name, or pass --force to replace it`, EXIT.usage)
  if (!existsSync(dirname(file))) throw new OperatorError(`cannot write ${file}: the folder ${dirname(file)} does not exist`, EXIT.usage)
  if (!existsSync(target.file)) throw new OperatorError(`there is no database at ${target.file} (DATABASE_URL) to back up`, EXIT.databaseUnavailable)
  const source = new Database(target.file, { fileMustExist: true, timeout: 5000 })
  const tmp = temporaryBeside(file)
  try {
    const pages = await copyDatabase(source, tmp)
    const copy = new Database(tmp)
    try {
      copy.pragma('journal_mode = DELETE')
    } finally {
      copy.close()
    }
    const check = checkCodepairDatabase(tmp, target.file)
    renameSync(tmp, file)
    return {
      source: target.file,
      file,
      bytes: statSync(file).size,
      pages,
      migration: check.applied.at(-1) ?? null,
      seconds: Number(process.hrtime.bigint() - started) / 1e9
    }
  } catch (err) {
    removeQuietly(tmp)
    throw err
  } finally {
    source.close()
  }
}

/** A database file nobody else may have open while it is replaced; throws naming who has. */
function ensureNotInUse (file: string): void {
  const holders = processesHolding(file)
  if (holders.length > 0) {
    throw new OperatorError(`${file} is in use by ${describeHolders(holders)}: stop the server (e.g. kill -TERM ${holders[0]?.pid ?? ''}, or systemctl stop codepair), then run codepair restore again`, EXIT.databaseBusy)
  }
  // Where /proc says nothing (another user's process, not Linux): SQLite's own lock. An
  // exclusive locking mode takes the file's EXCLUSIVE lock, which any open connection refuses.
  if (!existsSync(file)) return
  const probe = new Database(file, { fileMustExist: true, timeout: 0 })
  try {
    probe.pragma('locking_mode = EXCLUSIVE')
    probe.exec('BEGIN EXCLUSIVE; COMMIT')
  } catch (err) {
    throw new OperatorError(`${file} is in use by another process: stop the server, then run codepair restore again`, EXIT.databaseBusy, { cause: err })
  } finally {
    probe.close()
  }
}

export interface RestoreResult {
  file: string
  database: string
  /** Where the database that was replaced now is; null when there was none. */
  previous: string | null
  check: DatabaseCheck
}

export async function restoreDatabase (target: DatabaseTarget, file: string): Promise<RestoreResult> {
  sqliteOnly(target, 'restore')
  if (file === target.file) throw new OperatorError(`${file} is the database itself: give the backup's file name`, EXIT.usage)
  const check = checkCodepairDatabase(file)
  ensureNotInUse(target.file)
  if (!existsSync(dirname(target.file))) throw new OperatorError(`cannot restore to ${target.file}: the folder ${dirname(target.file)} does not exist`, EXIT.usage)

  // The copy to install, beside the database (same file system, so the rename is atomic).
  const incoming = temporaryBeside(target.file)
  let previous: string | null = null
  try {
    const from = new Database(file, { readonly: true, fileMustExist: true })
    try {
      await copyDatabase(from, incoming)
    } finally {
      from.close()
    }
    if (existsSync(target.file)) {
      previous = `${target.file}.before-restore-${stamp()}`
      const current = new Database(target.file, { fileMustExist: true, timeout: 0 })
      try {
        await copyDatabase(current, previous)
      } finally {
        current.close()
      }
      const kept = new Database(previous)
      try { kept.pragma('journal_mode = DELETE') } finally { kept.close() }
    }
    ensureNotInUse(target.file) // a server started meanwhile
    // A -wal left beside the new file would be replayed onto it: it belongs to the old one.
    rmSync(`${target.file}-wal`, { force: true })
    rmSync(`${target.file}-shm`, { force: true })
    renameSync(incoming, target.file)
  } catch (err) {
    removeQuietly(incoming)
    throw err
  }
  return { file, database: target.file, previous, check }
}
