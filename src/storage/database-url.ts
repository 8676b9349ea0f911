// One parser for DATABASE_URL, shared by the server, the CLI and prisma.config.ts,
// so that all three always talk to the same database.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

export const DEFAULT_DATABASE_URL = 'file:./data/codepair.db'

export type DatabaseTarget =
  | { dialect: 'sqlite'; url: string; file: string }
  | { dialect: 'postgresql'; url: string }

export function parseDatabaseUrl (url: string, cwd = process.cwd()): DatabaseTarget {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).split('?')[0] ?? ''
    if (path === '') throw new Error('DATABASE_URL "file:" needs a path, e.g. file:./data/codepair.db')
    // Several connections share the database (Prisma's and the hot path's): it must be a file.
    if (path === ':memory:') throw new Error('DATABASE_URL: in-memory SQLite is not supported; use a file such as file:./data/codepair.db')
    return { dialect: 'sqlite', url, file: resolve(cwd, path) }
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgresql', url }
  throw new Error('DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)')
}

/** SQLite creates the file but not its folder; the embedded default must work on a fresh clone. */
export function ensureSqliteDirectory (target: DatabaseTarget): void {
  if (target.dialect === 'sqlite') {
    mkdirSync(dirname(target.file), { recursive: true })
  }
}
