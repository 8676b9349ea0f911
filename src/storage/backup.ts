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
//
// Permissions: a database holds password hashes, e-mail addresses and sessions. Every
// copy made here (the backup, the copy being restored, the replaced database kept aside)
// is created mode 0600 by us (O_EXCL, so never through someone else's file or link)
// before SQLite writes a page into it; SQLite gives its -journal the same mode. Before
// the rename, a backup gets 0600 or the database's own mode where that allows less; a
// restored database (and the kept one) gets the replaced database's mode, owner and
// group. Only root can give a file away, so anyone else restoring over a database that
// is not theirs is refused before anything is copied: the server, running as the owner,
// could otherwise no longer open its own database.
import { closeSync, existsSync, fchmodSync, fchownSync, fstatSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, type Stats } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
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

const statOrNull = (file: string): Stats | null => {
  try { return statSync(file) } catch { return null }
}

/** `path` with its folder's symbolic links resolved (the folder may not exist: then as given). */
function canonical (path: string): string {
  try { return join(realpathSync(dirname(path)), basename(path)) } catch { return resolve(path) }
}

/**
 * What `file` is of the database `database`, if anything: the database itself or one of
 * the files SQLite keeps beside it. By name (links in the folder resolved) and, where
 * both exist, by inode (a link to one of them).
 */
function partOfDatabase (database: string, file: string): string | null {
  const fileStat = statOrNull(file)
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    const part = database + suffix
    const partStat = statOrNull(part)
    const same = canonical(part) === canonical(file) ||
      (fileStat !== null && partStat !== null && fileStat.dev === partStat.dev && fileStat.ino === partStat.ino)
    if (same) return suffix === '' ? 'the database itself' : `the database's ${suffix} file (part of the live database ${database})`
  }
  return null
}

/** Creates `file` empty, mode 0600, failing if anything is there; returns its descriptor. */
function createPrivate (file: string): number {
  const fd = openSync(file, 'wx', 0o600)
  try {
    fchmodSync(fd, 0o600) // whatever the umask took away, the owner must be able to write it
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return fd
}

const isRoot = () => process.getuid?.() === 0

function userName (uid: number): string | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find(l => l.split(':')[2] === String(uid))
    return line?.split(':')[0] ?? null
  } catch {
    return null
  }
}

/**
 * Refuses (before anything is copied) a restore that would leave the database owned by
 * someone else than the database it replaces: only root can give a file away.
 */
function ensureSameOwnerPossible (database: string, current: Stats, file: string): void {
  if (isRoot() || process.getuid === undefined || process.getgid === undefined) return
  const uid = process.getuid()
  const groups = [process.getgid(), ...(process.getgroups?.() ?? [])]
  if (current.uid === uid && groups.includes(current.gid)) return
  const name = userName(current.uid)
  const who = `${name === null ? '' : `${name} `}(uid ${current.uid}, gid ${current.gid})`
  throw new OperatorError(`${database} is owned by ${who} and this restore runs as uid ${uid}, which cannot give the restored database that owner: run it as the owner or as root, e.g. sudo -u ${name ?? `'#${current.uid}'`} codepair restore ${file}`, EXIT.usage)
}

/** Gives the file open as `fd` the owner, group (root only, or a group of ours) and permission bits of `like`. */
function matchOwnerAndMode (fd: number, like: Stats): void {
  const now = fstatSync(fd)
  if (now.uid !== like.uid || now.gid !== like.gid) fchownSync(fd, isRoot() ? like.uid : now.uid, like.gid)
  fchmodSync(fd, like.mode & 0o777)
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
  const part = partOfDatabase(target.file, file)
  if (part !== null) throw new OperatorError(`${file} is ${part}: give another file name`, EXIT.usage)
  if (existsSync(file) && options.force !== true) throw new OperatorError(`${file} already exists: choose another name, or pass --force to replace it`, EXIT.usage)
  if (!existsSync(dirname(file))) throw new OperatorError(`cannot write ${file}: the folder ${dirname(file)} does not exist`, EXIT.usage)
  if (!existsSync(target.file)) throw new OperatorError(`there is no database at ${target.file} (DATABASE_URL) to back up`, EXIT.databaseUnavailable)
  const source = new Database(target.file, { fileMustExist: true, timeout: 5000 })
  const tmp = temporaryBeside(file)
  let fd: number | null = null
  try {
    fd = createPrivate(tmp)
    const pages = await copyDatabase(source, tmp)
    const copy = new Database(tmp)
    try {
      copy.pragma('journal_mode = DELETE')
    } finally {
      copy.close()
    }
    const check = checkCodepairDatabase(tmp, target.file)
    // 0600, or the database's own mode where it allows less (never more than it).
    fchmodSync(fd, statSync(target.file).mode & 0o600)
    closeSync(fd)
    fd = null
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
    if (fd !== null) closeSync(fd)
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
  const part = partOfDatabase(target.file, file)
  if (part !== null) throw new OperatorError(`${file} is ${part}: give the backup's file name`, EXIT.usage)
  const check = checkCodepairDatabase(file)
  // The database replaced: the new one gets its owner, group and mode.
  const current = statOrNull(target.file)
  if (current !== null) ensureSameOwnerPossible(target.file, current, file)
  ensureNotInUse(target.file)
  if (!existsSync(dirname(target.file))) throw new OperatorError(`cannot restore to ${target.file}: the folder ${dirname(target.file)} does not exist`, EXIT.usage)

  // The copy to install, beside the database (same file system, so the rename is atomic).
  const incoming = temporaryBeside(target.file)
  let previous: string | null = null
  let fd: number | null = null
  try {
    fd = createPrivate(incoming)
    const from = new Database(file, { readonly: true, fileMustExist: true })
    try {
      await copyDatabase(from, incoming)
    } finally {
      from.close()
    }
    if (current !== null) {
      previous = `${target.file}.before-restore-${stamp()}`
      const keptFd = createPrivate(previous)
      try {
        const old = new Database(target.file, { fileMustExist: true, timeout: 0 })
        try {
          await copyDatabase(old, previous)
        } finally {
          old.close()
        }
        const kept = new Database(previous)
        try { kept.pragma('journal_mode = DELETE') } finally { kept.close() }
        matchOwnerAndMode(keptFd, current)
      } finally {
        closeSync(keptFd)
      }
      matchOwnerAndMode(fd, current)
    }
    closeSync(fd)
    fd = null
    ensureNotInUse(target.file) // a server started meanwhile
    // A -wal left beside the new file would be replayed onto it: it belongs to the old one.
    rmSync(`${target.file}-wal`, { force: true })
    rmSync(`${target.file}-shm`, { force: true })
    renameSync(incoming, target.file)
  } catch (err) {
    if (fd !== null) closeSync(fd)
    removeQuietly(incoming)
    throw err
  }
  return { file, database: target.file, previous, check }
}
