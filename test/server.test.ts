// The real entry point: migrate, start, answer, shut down gracefully on SIGTERM.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { testPort } from './helpers/app.js'
import { spawnWatched } from './helpers/cli.js'

const ROOT = new URL('../', import.meta.url).pathname
const CLI = join(ROOT, 'dist/cli/main.js')
const SERVER = join(ROOT, 'dist/server.js')

t.test('starts on a fresh SQLite database and stops on SIGTERM', async t => {
  const dir = t.testdir()
  const port = String(testPort())
  const env = { ...process.env, DATABASE_URL: `file:${join(dir, 'db', 'codepair.db')}`, PORT: port, LOG_LEVEL: 'info' }
  const migrated = spawnSync(process.execPath, [CLI, 'migrate'], { env, encoding: 'utf8' })
  t.equal(migrated.status, 0, migrated.stderr)

  const server = spawnWatched([SERVER], env)
  const { child, exited } = server
  t.teardown(() => { child.kill('SIGKILL') })
  await server.waitFor('codepair is ready')

  const res = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(res.status, 200)
  t.same(await res.json(), { status: 'ok' })
  t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200)

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exits cleanly')
  t.match(server.output(), '"signal":"SIGTERM"')
  t.match(server.output(), 'shutting down')
})

t.test('bad configuration stops start-up with a message naming the variable', async t => {
  const r = spawnSync(process.execPath, [SERVER], { env: { ...process.env, PORT: 'eighty', DATABASE_URL: 'file::memory:' }, encoding: 'utf8' })
  t.equal(r.status, 78)
  t.match(r.stderr, 'codepair: Invalid configuration')
  t.match(r.stderr, 'PORT: must be a whole number from 0 to 65535 (got "eighty")')
  const prod = spawnSync(process.execPath, [SERVER], { env: { ...process.env, CODEPAIR_MODE: 'production', DATABASE_URL: 'file::memory:' }, encoding: 'utf8' })
  t.equal(prod.status, 78)
  t.match(prod.stderr, 'SECRET_KEY: required in production mode')
})
