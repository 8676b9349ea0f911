// The committed migrations produce exactly the schema in schema.prisma, on both databases.
// Several branches add migrations at once; a bad merge (a lost column, an index in one
// provider only, a migration that redefines a table another branch altered) fails here.
// `migrate diff --from-url` is refused with a driver adapter, so the check is the
// equivalent: the database the migrations build and one built straight from the schema
// (`migrate diff --from-empty --to-schema-datamodel --script`) must have the same tables,
// columns, indexes and foreign keys.
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import t from 'tap'
import { runPrisma } from '../../scripts/prisma.mjs'
import { freshPostgresUrl, freshSqliteUrl, requirePostgres } from '../helpers/db.js'

const fromSchema = (dialect: string, databaseUrl: string): string => {
  const r = runPrisma(['migrate', 'diff', '--from-empty', '--to-schema-datamodel', `prisma/${dialect}/schema.prisma`, '--script'], { DATABASE_URL: databaseUrl }, 'pipe')
  if (r.status !== 0) throw new Error(`migrate diff failed:\n${r.stdout}${r.stderr}`)
  return r.stdout
}

function sqliteShape (file: string): string[] {
  const db = new Database(file, { readonly: true })
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations' ORDER BY name").all() as Array<{ name: string }>
    const out: string[] = []
    for (const { name } of tables) {
      for (const c of db.prepare(`PRAGMA table_info("${name}")`).all() as any[]) out.push(`column ${name}.${c.name} ${c.type} notnull=${c.notnull} default=${c.dflt_value} pk=${c.pk}`)
      for (const i of db.prepare(`PRAGMA index_list("${name}")`).all() as any[]) {
        const cols = (db.prepare(`PRAGMA index_info("${i.name}")`).all() as any[]).map(c => c.name).join(',')
        out.push(`index ${name}.${i.name} unique=${i.unique} (${cols})`)
      }
      for (const f of db.prepare(`PRAGMA foreign_key_list("${name}")`).all() as any[]) out.push(`fk ${name}.${f.from} -> ${f.table}.${f.to} delete=${f.on_delete} update=${f.on_update}`)
    }
    return out.sort()
  } finally {
    db.close()
  }
}

async function postgresShape (url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const columns = await c.query(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> '_prisma_migrations'`)
    const indexes = await c.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> '_prisma_migrations'`)
    const constraints = await c.query(`SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text <> '"_prisma_migrations"' AND conrelid::regclass::text <> '_prisma_migrations'`)
    const types = await c.query(`SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`)
    return [
      ...columns.rows.map(r => `column ${r.table_name}.${r.column_name} ${r.data_type}/${r.udt_name} nullable=${r.is_nullable} default=${r.column_default}`),
      ...indexes.rows.map(r => `index ${r.tablename}.${r.indexname} ${r.indexdef}`),
      ...constraints.rows.map(r => `constraint ${r.tbl}.${r.conname} ${r.def}`),
      ...types.rows.map(r => `enum ${r.typname} ${r.labels}`)
    ].sort()
  } finally {
    await c.end()
  }
}

// Prisma's SQLite generator writes `BigInt @id @default(autoincrement())` as `BIGINT NOT NULL
// PRIMARY KEY`, which SQLite never numbers by itself: only `INTEGER PRIMARY KEY` is an alias of
// the 64-bit rowid (https://www.sqlite.org/lang_createtable.html#rowid), so the migrations
// rightly say `INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT` (as wide, and numbered). The shape
// built straight from the schema is read as the rowid form: the column type becomes INTEGER
// and the separate unique index a non-rowid key needs disappears. Nothing else is forgiven.
function bigintAutoincrementAsRowid (facts: string[]): string[] {
  const keys = new Set<string>()
  const out = facts.map(f => {
    const m = /^column (\w+)\.(\w+) BIGINT (notnull=1 default=null pk=1)$/.exec(f)
    if (m === null) return f
    keys.add(`index ${m[1]}.sqlite_autoindex_${m[1]}_1 unique=1 (${m[2]})`)
    return `column ${m[1]}.${m[2]} INTEGER ${m[3]}`
  })
  return out.filter(f => !keys.has(f))
}

t.test('SQLite: migrations == schema.prisma', async t => {
  const migrated = freshSqliteUrl(t).slice('file:'.length) // the template, built by `prisma migrate deploy`
  const direct = join(dirname(migrated), 'direct.db') // t.testdir() again would wipe the copy
  const db = new Database(direct)
  db.exec(fromSchema('sqlite', `file:${direct}`))
  db.close()
  const a = sqliteShape(migrated)
  const b = bigintAutoincrementAsRowid(sqliteShape(direct))
  t.ok(a.length > 50, `${a.length} facts compared`)
  t.same(a, b, 'every table, column, index and foreign key agrees')
})

t.test('PostgreSQL: migrations == schema.prisma', async t => {
  if (!await requirePostgres(t)) return
  const migrated = await freshPostgresUrl(t) // cloned from a template built by `prisma migrate deploy`
  const direct = await freshPostgresUrl(t)
  const c = new pg.Client({ connectionString: direct })
  await c.connect()
  try {
    await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public')
    await c.query(fromSchema('postgresql', direct))
  } finally {
    await c.end()
  }
  const a = await postgresShape(migrated)
  const b = await postgresShape(direct)
  t.ok(a.length > 50, `${a.length} facts compared`)
  t.same(a, b, 'every table, column, index, constraint and enum agrees')
})
