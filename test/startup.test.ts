// Start-up as an operator meets it, through real processes: configuration first, one
// line and a documented exit code for every failure an operator can fix, and migrations
// that a running server cannot trip over.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { testPort } from './helpers/app.js'
import { EXIT } from '../src/exit-codes.js'
import { cli, spawnWatched } from './helpers/cli.js'
import { freshSqliteUrl, PG_ADMIN_URL, requirePostgres, withDatabase } from './helpers/db.js'

const ROOT = new URL('../', import.meta.url).pathname
const SERVER = join(ROOT, 'dist/server.js')
const SQLITE_DRIVER = createRequire(import.meta.url).resolve('better-sqlite3')
const port = testPort

function baseEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', CI: process.env.CI ?? '', ...extra }
  for (const key of ['SECRET_KEY', 'ISSUER', 'CODEPAIR_MODE', 'MIGRATE_WAIT_SECONDS']) if (!(key in extra)) delete env[key]
  return env
}

function server (args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [SERVER, ...args], { env, encoding: 'utf8', timeout: 120_000 })
}

/** One line of our own on stderr, and no stack trace. */
function oneLine (t: Test, stderr: string, pattern: RegExp | string): void {
  const lines = stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${stderr}`)
  t.match(lines[0], /^codepair: /)
  t.match(lines[0], pattern)
  t.notMatch(stderr, /^\s+at /m, 'no stack trace')
}

t.test('configuration is checked before the database is touched (78)', async t => {
  const dir = t.testdir()
  const file = join(dir, 'never', 'codepair.db')
  const r = server(['--migrate'], baseEnv({ DATABASE_URL: `file:${file}`, PORT: 'eighty' }))
  t.equal(r.status, EXIT.config)
  t.match(r.stderr, 'PORT: must be a whole number from 0 to 65535 (got "eighty")')
  t.notOk(existsSync(join(dir, 'never')), 'no database file or folder was created')
  t.notMatch(r.stderr, /^\s+at /m)
})

t.test('a running server: migrate is a read-only no-op, a second start says the port is taken (98)', async t => {
  const url = freshSqliteUrl(t)
  const p = port()
  const env = baseEnv({ DATABASE_URL: url, PORT: String(p), LOG_LEVEL: 'info' })
  const running = spawnWatched([SERVER, '--migrate'], env)
  t.teardown(() => { running.child.kill('SIGKILL') })
  await running.waitFor('codepair is ready')

  const migrate = await cli(url, ['migrate'])
  t.equal(migrate.code, 0, migrate.stderr)
  t.equal(migrate.stdout, 'Database is up to date.\n')
  t.equal(migrate.stderr, '')

  const second = server(['--migrate'], env)
  t.equal(second.status, EXIT.portInUse)
  oneLine(t, second.stderr, `port ${p} on 127.0.0.1 is already in use (PORT)`)

  running.child.kill('SIGTERM')
  t.equal(await running.exited, 0)
})

/** A process that keeps the SQLite file open (as a running server does) for `ms`. */
function holdOpen (file: string, ms: number) {
  const child = spawn(process.execPath, ['-e', `const D = require(${JSON.stringify(SQLITE_DRIVER)}); const db = new D(${JSON.stringify(file)}); db.pragma('journal_mode = WAL'); process.stdout.write('open\\n'); setTimeout(() => db.close(), ${ms})`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const opened = new Promise<void>(resolve => child.stdout.once('data', () => resolve()))
  const exited = new Promise<void>(resolve => child.on('close', () => resolve()))
  return { child, opened, exited }
}

t.test('migrating a database another process holds: waits with progress, then names the holder (75)', async t => {
  const file = join(t.testdir(), 'held.db')
  const holder = holdOpen(file, 120_000)
  t.teardown(() => { holder.child.kill('SIGKILL') })
  await holder.opened

  const r = await cli(`file:${file}`, ['migrate', '--wait', '2'])
  t.equal(r.code, EXIT.databaseBusy, r.stderr)
  const lines = r.stderr.trim().split('\n')
  t.match(lines[0], `codepair migrate: waiting for process ${holder.child.pid}`, 'a progress line names who is waited for')
  t.match(lines.at(-1), new RegExp(`^codepair: cannot migrate ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: process ${holder.child.pid} \\(.*node.*\\) is using it`))
  t.match(lines.at(-1), 'stop it, then run `codepair migrate` again')
  t.notMatch(r.stderr, /WASM_ERROR|SocketTimeout|^\s+at /m, 'none of Prisma\'s internals')
})

t.test('... and migrates as soon as the holder lets go', async t => {
  const file = join(t.testdir(), 'released.db')
  const holder = holdOpen(file, 3000)
  t.teardown(() => { holder.child.kill('SIGKILL') })
  await holder.opened
  const r = await cli(`file:${file}`, ['migrate', '--wait', '120'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, `waiting for process ${holder.child.pid}`)
  t.match(r.stdout, /^Migrations applied: 20261123000000_init, /)
  await holder.exited
})

t.test('a server started on a database nobody migrated says so (65); --migrate migrates it', async t => {
  const file = join(t.testdir(), 'fresh.db')
  const env = baseEnv({ DATABASE_URL: `file:${file}`, PORT: String(port()) })
  const r = server([], env)
  t.equal(r.status, EXIT.notMigrated)
  oneLine(t, r.stderr, /the database needs \d+ migrations \(20261123000000_init, .*\): run `codepair migrate`/)
  const cmd = await cli(`file:${file}`, ['user', 'list'])
  t.equal(cmd.code, EXIT.notMigrated, 'CLI commands use the same code')
})

t.test('a changed SECRET_KEY: one line, exit 77', async t => {
  const url = freshSqliteUrl(t)
  const p = port()
  const first = spawnWatched([SERVER], baseEnv({ DATABASE_URL: url, PORT: String(p), LOG_LEVEL: 'info', SECRET_KEY: 'a'.repeat(40) }))
  t.teardown(() => { first.child.kill('SIGKILL') })
  await first.waitFor('codepair is ready')
  first.child.kill('SIGTERM')
  await first.exited
  const r = server([], baseEnv({ DATABASE_URL: url, PORT: String(p), SECRET_KEY: 'b'.repeat(40) }))
  t.equal(r.status, EXIT.keyMismatch)
  oneLine(t, r.stderr, 'SECRET_KEY differs from the one they were stored with')
})

t.test('a PostgreSQL database that does not exist: named, with createdb (69); no Prisma chatter', async t => {
  if (!await requirePostgres(t)) return
  const name = `codepair_missing_${process.pid}`
  const url = withDatabase(PG_ADMIN_URL, name)
  const r = server(['--migrate'], baseEnv({ DATABASE_URL: url, PORT: String(port()) }))
  t.equal(r.status, EXIT.databaseUnavailable)
  const u = new URL(PG_ADMIN_URL)
  oneLine(t, r.stderr, `PostgreSQL database "${name}" on ${u.hostname}:${u.port || '5432'} does not exist (DATABASE_URL); create it with: createdb -h ${u.hostname} -p ${u.port || '5432'}`)
  t.notMatch(r.stderr, /will NOT be used|Loaded Prisma config|"postgres"/)
  const m = await cli(url, ['migrate'])
  t.equal(m.code, EXIT.databaseUnavailable)
  t.match(m.stderr, `database "${name}"`)
  t.match(m.stderr, 'createdb')

  const unreachable = server([], baseEnv({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:9/codepair', PORT: String(port()) }))
  t.equal(unreachable.status, EXIT.databaseUnavailable)
  oneLine(t, unreachable.stderr, 'cannot reach PostgreSQL at 127.0.0.1:9 (DATABASE_URL)')
})

t.test('the README documents every exit code', async t => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split('### Exit codes')[1]?.split('\n## ')[0] ?? ''
  t.ok(section.length > 0, 'README has an "Exit codes" section')
  for (const [name, code] of Object.entries(EXIT)) {
    t.match(section, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `${name} (${code}) is in the table`)
  }
})
