// Which storage failures are transient (database unreachable, locked, pool exhausted):
// those become 503 + Retry-After instead of a final error or a 500.

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

/** SQLite's "no such table" (raw driver) or Prisma's P2021 "table does not exist". */
export function isNotMigrated (err: unknown): boolean {
  const e = err as { code?: string, message?: string } | null
  return e?.code === 'P2021' || /no such table/.test(String(e?.message ?? ''))
}
