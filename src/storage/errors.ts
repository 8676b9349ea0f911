// Which storage failures are transient (database unreachable, locked, pool exhausted):
// those become 503 + Retry-After instead of a final error or a 500.
import { EXIT, OperatorError } from '../exit-codes.js'
import type { DatabaseTarget } from './database-url.js'

const TRANSIENT_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2034'])
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P03', '53300', 'SQLITE_BUSY', 'SQLITE_LOCKED'])
const TRANSIENT_ADAPTER_KINDS = new Set(['DatabaseDoesNotExist', 'SocketTimeout', 'TransactionAlreadyClosed', 'TooManyConnections', 'ConnectionClosed', 'DatabaseNotReachable', 'SocketClosed'])

export function isStorageUnavailable (err: unknown): boolean {
  for (let e: any = err, depth = 0; e != null && depth < 6; e = e.cause, depth++) {
    if (typeof e.code === 'string' && (TRANSIENT_PRISMA_CODES.has(e.code) || TRANSIENT_NODE_CODES.has(e.code))) return true
    const kind = e.cause?.kind ?? e.kind
    if (typeof kind === 'string' && TRANSIENT_ADAPTER_KINDS.has(kind)) return true
    if (typeof e.cause?.originalCode === 'string' && TRANSIENT_NODE_CODES.has(e.cause.originalCode)) return true
    const name = String(e.name ?? '')
    if (name === 'PrismaClientInitializationError') return true
    if (/Connection terminated|connect ECONNREFUSED|Can't reach database|database is locked|Client has encountered a connection error|Timed out fetching a new connection/i.test(String(e.message ?? ''))) return true
  }
  return false
}

export function isUniqueViolation (err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'P2002'
}

/** What an administrator sees when a command meets a database nobody has migrated. */
export const NOT_MIGRATED = 'the database has no codepair tables yet: run `codepair migrate` first'

/** The storage bundle failed because nobody migrated the database. */
export function notMigratedError (err: unknown): OperatorError {
  return new OperatorError(NOT_MIGRATED, EXIT.notMigrated, { cause: err })
}

/** SQLite's "no such table" (raw driver) or Prisma's P2021 "table does not exist". */
export function isNotMigrated (err: unknown): boolean {
  const e = err as { code?: string, message?: string } | null
  return e?.code === 'P2021' || /no such table/.test(String(e?.message ?? ''))
}

/** Where DATABASE_URL points, for messages: never the password. */
export function describeTarget (target: DatabaseTarget): string {
  if (target.dialect === 'sqlite') return target.file
  const u = new URL(target.url)
  return `database "${postgresDatabaseName(target)}" on ${u.hostname}:${u.port === '' ? '5432' : u.port}`
}

export function postgresDatabaseName (target: DatabaseTarget): string {
  if (target.dialect !== 'postgresql') return ''
  const u = new URL(target.url)
  return decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres'
}

function causes (err: unknown): any[] {
  const out: any[] = []
  for (let e: any = err, depth = 0; e != null && depth < 8; e = e.cause, depth++) out.push(e)
  return out
}

/**
 * The database failures an operator fixes outside codepair (nothing listening, no such
 * database, wrong password, unwritable file), as one line naming DATABASE_URL's target;
 * null for anything else.
 */
export function databaseUnavailable (err: unknown, target: DatabaseTarget): OperatorError | null {
  const chain = causes(err)
  const codes = new Set(chain.flatMap(e => [e.code, e.originalCode, e.cause?.originalCode, e.kind, e.cause?.kind].filter((c): c is string => typeof c === 'string')))
  const text = chain.map(e => String(e.message ?? '')).join(' ')
  const where = describeTarget(target)
  const fail = (message: string) => new OperatorError(message, EXIT.databaseUnavailable, { cause: err })
  if (target.dialect === 'postgresql') {
    const u = new URL(target.url)
    const name = postgresDatabaseName(target)
    if (codes.has('3D000') || codes.has('P1003') || codes.has('DatabaseDoesNotExist') || /database "[^"]*" does not exist/.test(text)) {
      const user = u.username === '' ? '' : ` -U ${decodeURIComponent(u.username)}`
      return fail(`PostgreSQL ${where} does not exist (DATABASE_URL); create it with: createdb -h ${u.hostname} -p ${u.port === '' ? '5432' : u.port}${user} ${name}`)
    }
    if (codes.has('28P01') || codes.has('28000') || codes.has('P1000') || codes.has('AuthenticationFailed')) {
      return fail(`PostgreSQL refused the user and password in DATABASE_URL for ${where}`)
    }
    if ([...codes].some(c => /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|P1001|DatabaseNotReachable)$/.test(c)) || /ECONNREFUSED|Can't reach database|timeout expired|Connection terminated/i.test(text)) {
      return fail(`cannot reach PostgreSQL at ${u.hostname}:${u.port === '' ? '5432' : u.port} (DATABASE_URL): is it running, and is the address right?`)
    }
    return null
  }
  if ([...codes].some(c => /^SQLITE_(CANTOPEN|READONLY|PERM|IOERR)/.test(c)) || /unable to open database file|attempt to write a readonly database/i.test(text)) {
    return fail(`cannot open the SQLite database ${where} (DATABASE_URL): check that its folder exists and is writable`)
  }
  return null
}
