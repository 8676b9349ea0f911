// Driver adapters: every Prisma connection, at run time and in the CLI, goes through
// these, so no native Prisma engine is downloaded or loaded (engineType = "client").
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import type { DatabaseTarget } from './database-url.js'

/**
 * DateTime columns in SQLite hold integer milliseconds since the epoch, so raw SQL on
 * hot paths can do arithmetic on them exactly as PostgreSQL does on timestamps.
 */
export const SQLITE_TIMESTAMP_FORMAT = 'unixepoch-ms'

export function createAdapterFactory (target: DatabaseTarget): PrismaBetterSQLite3 | PrismaPg {
  if (target.dialect === 'sqlite') {
    return new PrismaBetterSQLite3({ url: target.file }, { timestampFormat: SQLITE_TIMESTAMP_FORMAT })
  }
  return new PrismaPg({ connectionString: target.url, max: 10 })
}
