// The Prisma client for the configured database. Two clients are generated from the
// same models (prisma/sqlite, prisma/postgresql) because a generated client is bound
// to one provider; their model APIs are identical, so the rest of the code is typed
// against the SQLite one.
import { PrismaClient as SqliteClient } from '../generated/prisma-sqlite/client.js'
import { PrismaClient as PostgresClient } from '../generated/prisma-postgresql/client.js'
import { createAdapterFactory } from './adapters.js'
import { ensureSqliteDirectory, type DatabaseTarget } from './database-url.js'
import { timedAdapterFactory, type QueryTiming } from './query-timing.js'

export type Db = SqliteClient
/** The client or an interactive transaction. */
export type DbTx = Omit<Db, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>

/** `timing`: time every statement (the server's metrics); the CLI passes none. */
export async function createPrismaClient (target: DatabaseTarget, timing?: QueryTiming): Promise<Db> {
  ensureSqliteDirectory(target)
  const factory = createAdapterFactory(target)
  const adapter = timing === undefined ? factory : timedAdapterFactory(factory, timing)
  if (target.dialect === 'postgresql') {
    return new PostgresClient({ adapter }) as unknown as Db
  }
  const db = new SqliteClient({ adapter })
  // WAL lets the CLI and readers work while the server writes; busy_timeout makes a
  // writer wait for the lock instead of failing at once.
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL')
  await db.$queryRawUnsafe('PRAGMA busy_timeout = 5000')
  // In WAL mode NORMAL never corrupts the database; a power loss (not a crash of the
  // process) may undo the last commits. FULL fsyncs every poll and costs ~10x.
  await db.$queryRawUnsafe('PRAGMA synchronous = NORMAL')
  await db.$queryRawUnsafe('PRAGMA wal_autocheckpoint = 0') // see checkpointer.ts
  await db.$queryRawUnsafe('PRAGMA foreign_keys = ON')
  return db
}
