// Real databases for tests: a fresh SQLite file or PostgreSQL database per test,
// copied from a template migrated once (with the real `prisma migrate deploy`).
import { createHash, randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { migrateDatabase } from '../../src/storage/migrate.js'
import { requireService } from './services.js'

const ROOT = new URL('../../', import.meta.url).pathname

function migrationsHash (dialect: string): string {
  const dir = join(ROOT, 'prisma', dialect, 'migrations')
  const h = createHash('sha256')
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, 'migration.sql')
    if (existsSync(file)) h.update(name).update(readFileSync(file))
  }
  return h.digest('hex').slice(0, 12)
}

export function sqliteTemplate (): string {
  const dir = join(tmpdir(), 'codepair-test-templates')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `sqlite-${migrationsHash('sqlite')}.db`)
  if (existsSync(path)) return path
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
  const r = migrateDatabase(`file:${tmp}`)
  if (!r.ok) throw new Error(`could not migrate the SQLite test template:\n${r.output}`)
  renameSync(tmp, path) // atomic: parallel test processes never see a half-migrated template
  return path
}

export function freshSqliteUrl (t: Test): string {
  const file = join(t.testdir(), 'codepair.db')
  copyFileSync(sqliteTemplate(), file)
  return `file:${file}`
}

export const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

export function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

let pgAvailable: Promise<boolean> | undefined
export async function postgresAvailable (): Promise<boolean> {
  pgAvailable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 })
    try {
      await c.connect()
      await c.query('SELECT 1')
      return true
    } catch {
      return false
    } finally {
      await c.end().catch(() => {})
    }
  })()
  return await pgAvailable
}

/** PostgreSQL is required when CI=true (services.ts); elsewhere the PostgreSQL half is skipped. */
export async function requirePostgres (t: Test): Promise<boolean> {
  return await requireService(t, 'PostgreSQL', PG_ADMIN_URL, 'TEST_POSTGRES_URL', await postgresAvailable())
}

async function admin<T> (fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

const LOCK_ID = 727274 // serialises template creation and cloning across test processes

/** A fresh database cloned from the migrated template; dropped in teardown. */
export async function freshPostgresUrl (t: Test): Promise<string> {
  const template = `codepair_tpl_${migrationsHash('postgresql')}`
  const name = `codepair_test_${randomBytes(6).toString('hex')}`
  await admin(async c => {
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_ID])
    try {
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [template])
      if (exists.rowCount === 0) {
        await c.query(`CREATE DATABASE "${template}"`)
        const r = migrateDatabase(withDatabase(PG_ADMIN_URL, template))
        if (!r.ok) {
          await c.query(`DROP DATABASE IF EXISTS "${template}"`)
          throw new Error(`could not migrate the PostgreSQL test template:\n${r.output}`)
        }
      }
      await c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`)
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [LOCK_ID])
    }
  })
  t.teardown(async () => {
    await admin(async c => { await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) })
  })
  return withDatabase(PG_ADMIN_URL, name)
}

export type Dialect = 'sqlite' | 'postgresql'

/** Runs `fn` as one subtest per database: SQLite always, PostgreSQL when reachable (required in CI). */
export async function eachDatabase (t: Test, name: string, fn: (t: Test, databaseUrl: string, dialect: Dialect) => Promise<void>): Promise<void> {
  await t.test(`${name} (sqlite)`, async t => { await fn(t, freshSqliteUrl(t), 'sqlite') })
  await t.test(`${name} (postgresql)`, async t => {
    if (!await requirePostgres(t)) return
    await fn(t, await freshPostgresUrl(t), 'postgresql')
  })
}
