// `codepair backup` and `codepair restore` on the embedded SQLite database, with a server
// running device flows against it the whole time.
import { randomBytes, randomUUID } from 'node:crypto'
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { addClient, addUser, buildTestApp, listenTestApp } from '../helpers/app.js'
import { HttpBrowser, pollAt, refreshAt, startFlow } from '../helpers/cluster.js'
import { cli, cliAs } from '../helpers/cli.js'
import { freshSqliteUrl } from '../helpers/db.js'
import { poll, startDeviceFlow } from '../helpers/oauth.js'
import { sha256 } from '../../src/oauth/codes.js'
import { restoreDatabase } from '../../src/storage/backup.js'
import { parseDatabaseUrl } from '../../src/storage/database-url.js'
import { EXIT } from '../../src/exit-codes.js'

// Room for many live codes (with 10-letter codes and the default code-entry budgets the
// brute-force bound allows 42,666).
const ROOMY = { USER_CODE_LENGTH: '10', MAX_LIVE_CODES: '40000' }

/** Device flows from `loops` devices at once: authorize, then poll once, until stopped. */
function load (issuer: string, clientId: string, loops = 6) {
  const committed: Array<{ deviceCode: string, polledAt: number | null }> = []
  const failures: string[] = []
  let stopped = false
  let answered = 0
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const one = async () => {
    while (!stopped && committed.length < 50_000) {
      const res = await fetch(`${issuer}/oauth/device_authorization`, { method: 'POST', headers: form, body: `client_id=${clientId}` })
      answered++
      if (res.status !== 200) { failures.push(`device_authorization ${res.status} ${await res.text()}`); continue }
      const entry = { deviceCode: (await res.json() as { device_code: string }).device_code, polledAt: null as number | null }
      committed.push(entry)
      const polled = await fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: form,
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: clientId, device_code: entry.deviceCode }).toString()
      })
      answered++
      const error = (await polled.json() as { error?: string }).error
      if (polled.status !== 400 || error !== 'authorization_pending') failures.push(`poll ${polled.status} ${String(error)}`)
      else entry.polledAt = Date.now()
    }
  }
  const running = Promise.all(Array.from({ length: loops }, one))
  return {
    committed,
    failures,
    answered: () => answered,
    async stop () { stopped = true; await running }
  }
}

/** The test's folder, where freshSqliteUrl put the database (calling t.testdir() again would empty it). */
const folderOf = (databaseUrl: string) => dirname((parseDatabaseUrl(databaseUrl) as { file: string }).file)

/** Many rows already there, so the copy is more than a few pages. */
function prefill (file: string, clientId: string, n: number): void {
  const db = new Database(file, { timeout: 10000 })
  const insert = db.prepare('INSERT INTO "DeviceAuthorization" ("id", "deviceCodeHash", "userCodeHash", "clientId", "scope", "status", "createdAt", "expiresAt", "intervalSeconds") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const now = Date.now()
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(randomUUID(), randomBytes(32).toString('hex'), randomBytes(32).toString('hex'), clientId, 'openid', 'consumed', now, now + 86_400_000, 5)
  })()
  db.close()
}

/** Waits for `check`, generously bounded (two busy cores). */
async function waitUntil (check: () => boolean, what = 'the load', ms = 120_000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what}: not there after ${ms / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('backup while device flows run, then restore: refused while the server runs, exact once it is stopped', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const { file } = parseDatabaseUrl(databaseUrl) as { file: string }
  const dir = dirname(file)
  const { app, issuer } = await listenTestApp(t, { databaseUrl, env: ROOMY })
  const client = await addClient(app)
  prefill(file, client.id, 20_000)

  const traffic = load(issuer, client.id)
  await waitUntil(() => traffic.committed.length >= 200)
  // Every flow answered before the backup starts is committed: its row must be in the copy.
  const before = traffic.committed.map(e => ({ ...e }))
  const answeredBefore = traffic.answered()
  const backupFile = join(dir, 'backup.db')
  const backup = await cli(databaseUrl, ['backup', backupFile])
  const answeredDuring = traffic.answered() - answeredBefore
  await traffic.stop()

  t.equal(backup.code, 0, backup.stderr)
  t.match(backup.stdout, new RegExp(`^Backed up ${file} to ${backupFile}: [\\d.]+ MiB, \\d+ pages, migration \\d+_\\w+, integrity_check ok, in [\\d.]+ s\\.\\n$`))
  t.same(traffic.failures, [], 'the server kept answering every request while the backup ran')
  t.ok(answeredDuring > 0, `${answeredDuring} requests answered while the backup command ran`)

  const copy = new Database(backupFile, { readonly: true })
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok')
  t.equal(copy.pragma('journal_mode', { simple: true }), 'delete', 'one self-contained file')
  const rows = new Map((copy.prepare('SELECT "deviceCodeHash", "lastPollAt" FROM "DeviceAuthorization"').all() as Array<{ deviceCodeHash: string, lastPollAt: number | null }>).map(r => [r.deviceCodeHash, r.lastPollAt]))
  const missing = before.filter(e => !rows.has(sha256(e.deviceCode)))
  t.equal(missing.length, 0, `all ${before.length} device authorizations answered before the backup are in it`)
  const unpolled = before.filter(e => e.polledAt !== null && (rows.get(sha256(e.deviceCode)) ?? null) === null)
  t.equal(unpolled.length, 0, 'and every poll answered before it')
  t.ok(rows.size >= 20_000 + before.length)
  copy.close()
  t.notOk(existsSync(`${backupFile}-wal`), 'no -wal beside the backup')
  const backedUp = rows.size

  // Restore refuses while the server has the database open, and changes nothing.
  const after = load(issuer, client.id, 2)
  await waitUntil(() => after.committed.length >= 20)
  const refused = await cli(databaseUrl, ['restore', backupFile])
  await after.stop()
  t.equal(refused.code, EXIT.databaseBusy)
  t.match(refused.stderr, new RegExp(`^codepair: ${file} is in use by process ${process.pid} \\([^)]*\\): stop the server \\(e\\.g\\. kill -TERM ${process.pid}, or systemctl stop codepair\\), then run codepair restore again\\n$`))
  t.same(after.failures, [], 'the running server was not disturbed')
  const live = await app.codepair.storage.db.deviceAuthorization.count()
  t.equal(live, 20_000 + traffic.committed.length + after.committed.length, 'nothing was replaced')

  // Stopped: restore puts the backup back and keeps what it replaced.
  await app.close()
  const restored = await cli(databaseUrl, ['restore', backupFile])
  t.equal(restored.code, 0, restored.stderr)
  const kept = /The database it replaced is kept as (\S+)\.\n/.exec(restored.stdout)?.[1]
  t.match(restored.stdout, `Restored ${backupFile} to ${file}.\n`)
  t.ok(kept !== undefined && existsSync(kept), 'the replaced database is kept')
  const old = new Database(kept as string, { readonly: true })
  t.equal((old.prepare('SELECT count(*) AS n FROM "DeviceAuthorization"').get() as { n: number }).n, live, 'the kept copy is the database as it was, every row')
  t.equal(old.pragma('integrity_check', { simple: true }), 'ok')
  old.close()
  t.notOk(existsSync(`${file}-wal`), 'no -wal of the old database left beside the new one')

  // A server on the restored database: the backup's rows, and it works.
  const again = await buildTestApp(t, { databaseUrl, env: ROOMY })
  t.equal(await again.app.codepair.storage.db.deviceAuthorization.count(), backedUp, 'exactly the backup')
  const flow = await startDeviceFlow(again.app, client.id)
  t.equal((await poll(again.app, client.id, flow.device_code)).json().error, 'authorization_pending')
  const restoredCopy = before.find(e => e.polledAt !== null)
  if (restoredCopy !== undefined) t.equal((await poll(again.app, client.id, restoredCopy.deviceCode)).json().error, 'slow_down', 'a flow from before the backup goes on (its poll time was kept)')
})

t.test('a backup taken while people approve devices, restored into a new file: the approved grants are in it and work', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const dir = folderOf(databaseUrl)
  // One public address for both servers, as an operator restoring behind the same name:
  // tokens name it as issuer and audience.
  const env = { ...ROOMY, ISSUER: 'http://127.0.0.1:3998' }
  const { app, issuer } = await listenTestApp(t, { databaseUrl, env })
  const client = await addClient(app)
  await addUser(app)

  // Writes going the whole time: device flows polling, and pairings approved through the
  // real pages, every other one redeemed at once (tokens with a refresh token), the others
  // left approved for their device to collect later.
  const traffic = load(issuer, client.id, 3)
  interface Paired { deviceCode: string, userCode: string, accessToken?: string, refreshToken?: string }
  const approved: Paired[] = []
  const redeemed: Paired[] = []
  const pairingFailures: string[] = []
  let pairing = true
  const pairings = (async () => {
    for (let n = 0; pairing; n++) {
      const started = await startFlow(issuer, client.id, undefined, { scope: 'openid profile offline_access' })
      if (started.status !== 200) { pairingFailures.push(`start ${started.status}`); continue }
      const f: Paired = { deviceCode: started.body.device_code, userCode: started.body.user_code }
      const decided = await new HttpBrowser().decide(issuer, f.userCode, 'alice')
      if (decided !== 303) { pairingFailures.push(`approve ${decided}`); continue }
      if (n % 2 === 1) { approved.push(f); continue }
      const tokens = await pollAt(issuer, client.id, f.deviceCode)
      if (tokens.status !== 200) { pairingFailures.push(`redeem ${tokens.status} ${JSON.stringify(tokens.body)}`); continue }
      redeemed.push({ ...f, accessToken: tokens.body.access_token, refreshToken: tokens.body.refresh_token })
    }
  })()
  await waitUntil(() => (redeemed.length >= 3 && approved.length >= 3 && traffic.committed.length >= 50) || pairingFailures.length > 0, 'pairings')
  // Committed before the backup starts, so they must be in it.
  const approvedBefore = [...approved]
  const redeemedBefore = [...redeemed]
  const answeredBefore = traffic.answered()
  const pairedBefore = approved.length + redeemed.length
  const backupFile = join(dir, 'live.db')
  const backup = await cli(databaseUrl, ['backup', backupFile])
  const answeredDuring = traffic.answered() - answeredBefore
  pairing = false
  await pairings
  await traffic.stop()
  t.equal(backup.code, 0, backup.stderr)
  t.same([...traffic.failures, ...pairingFailures], [], 'the server answered every request while the backup ran')
  t.ok(answeredDuring > 0, `${answeredDuring} device requests answered while the backup command ran`)
  t.comment(`pairings: ${pairedBefore} before the backup, ${approved.length + redeemed.length - pairedBefore} while it ran`)

  // Restored into a new file, while the first server still runs on the original.
  const restoredFile = join(dir, 'restored', 'codepair.db')
  mkdirSync(dirname(restoredFile))
  const restoredUrl = `file:${restoredFile}`
  const restore = await cli(restoredUrl, ['restore', backupFile])
  t.equal(restore.code, 0, restore.stderr)
  t.equal(restore.stdout, `Restored ${backupFile} to ${restoredFile}.\nThere was no database there before.\n`)

  const second = await listenTestApp(t, { databaseUrl: restoredUrl, env })
  const db = second.app.codepair.storage.db
  const rowOf = async (p: Paired) => await db.deviceAuthorization.findUniqueOrThrow({ where: { deviceCodeHash: sha256(p.deviceCode) } })
  for (const p of approvedBefore) t.match(await rowOf(p), { status: 'approved', userId: /./ }, 'an approval from before the backup is in it')
  for (const p of redeemedBefore) t.match(await rowOf(p), { status: 'consumed', revokedAt: null }, 'a redemption from before the backup is in it')

  // And they work on the restored server: the devices approved before the backup collect
  // their tokens, the tokens issued before it are accepted (the signing keys came with
  // the database), and the refresh tokens rotate.
  for (const p of approvedBefore) {
    const tokens = await pollAt(second.issuer, client.id, p.deviceCode)
    t.equal(tokens.status, 200, `an approved device collects its tokens from the restored database: ${JSON.stringify(tokens.body.error ?? 'ok')}`)
  }
  for (const p of redeemedBefore) {
    const me = await fetch(`${second.issuer}/api/me`, { headers: { authorization: `Bearer ${p.accessToken!}` } })
    t.equal(me.status, 200, 'an access token from before the backup is accepted')
    const rotated = await refreshAt(second.issuer, client.id, p.refreshToken!)
    t.equal(rotated.status, 200, `a refresh token from before the backup rotates: ${JSON.stringify(rotated.body.error ?? 'ok')}`)
  }
  // A new pairing, start to finish.
  const fresh = await startFlow(second.issuer, client.id)
  t.equal(fresh.status, 200)
  t.equal(await new HttpBrowser().decide(second.issuer, fresh.body.user_code, 'alice'), 303)
  t.equal((await pollAt(second.issuer, client.id, fresh.body.device_code)).status, 200, 'a new device pairs on the restored database')
  const check = new Database(restoredFile, { readonly: true })
  t.equal(check.pragma('integrity_check', { simple: true }), 'ok')
  check.close()
})

t.test('backup refuses to overwrite a file unless --force', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const target = join(folderOf(databaseUrl), 'b.db')
  writeFileSync(target, 'precious')
  const refused = await cli(databaseUrl, ['backup', target])
  t.equal(refused.code, EXIT.usage)
  t.equal(refused.stderr, `codepair: ${target} already exists: choose another name, or pass --force to replace it\n`)
  t.equal(refused.stdout, '')
  const forced = await cli(databaseUrl, ['backup', target, '--force', '--json'])
  t.equal(forced.code, 0, forced.stderr)
  t.match(JSON.parse(forced.stdout), { backedUp: true, file: target, migration: /^\d+_/ })
  const db = new Database(target, { readonly: true })
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok')
  db.close()
  const itself = await cli(databaseUrl, ['backup', parseDatabaseUrl(databaseUrl).dialect === 'sqlite' ? (parseDatabaseUrl(databaseUrl) as { file: string }).file : ''])
  t.equal(itself.code, EXIT.usage)
  t.match(itself.stderr, 'is the database itself')
  const noFolder = await cli(databaseUrl, ['backup', join(folderOf(databaseUrl), 'no', 'such', 'b.db')])
  t.equal(noFolder.code, EXIT.usage)
  t.match(noFolder.stderr, 'does not exist')
})

t.test('restore checks the file is a codepair database it understands', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const dir = folderOf(databaseUrl)
  const text = join(dir, 'notes.txt')
  writeFileSync(text, 'not a database at all, just some text that is long enough to have a header'.repeat(20))
  const other = join(dir, 'other.db')
  const o = new Database(other)
  o.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)')
  o.close()
  const future = join(dir, 'future.db')
  copyFileSync((parseDatabaseUrl(databaseUrl) as { file: string }).file, future)
  const f = new Database(future)
  f.prepare("INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count) VALUES ('x', 'x', '29991231000000_from_the_future', 0, 1, 1)").run()
  f.close()
  const cases: Array<[string, string, RegExp]> = [
    ['a text file', text, /is not a SQLite database/],
    ['another SQLite database', other, /is not a codepair database \(no _prisma_migrations, Client, User, DeviceAuthorization table\)/],
    ['a newer codepair\'s database', future, /was migrated by a newer codepair \(29991231000000_from_the_future is unknown to this version\): restore it with that version/],
    ['a missing file', join(dir, 'missing.db'), /missing\.db does not exist/]
  ]
  const original = (parseDatabaseUrl(databaseUrl) as { file: string }).file
  for (const [what, file, message] of cases) {
    const r = await cli(databaseUrl, ['restore', file])
    t.equal(r.code, EXIT.usage, what)
    t.match(r.stderr, message, what)
    t.equal(r.stderr.split('\n').length, 2, `${what}: one line`)
  }
  const db = new Database(original, { readonly: true })
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database was left alone')
  db.close()
})

t.test('restore sees a database open in its own process through SQLite\'s lock', async t => {
  // /proc lists other processes only; a connection in this one is found by the lock probe.
  const databaseUrl = freshSqliteUrl(t)
  const { app } = await buildTestApp(t, { databaseUrl })
  await addClient(app)
  const backupFile = join(folderOf(databaseUrl), 'b.db')
  t.equal((await cli(databaseUrl, ['backup', backupFile])).code, 0)
  await t.rejects(restoreDatabase(parseDatabaseUrl(databaseUrl), backupFile), { exitCode: EXIT.databaseBusy, message: /is in use by another process: stop the server/ })
  t.equal(await app.codepair.storage.db.client.count(), 1, 'still the same database')
})

t.test('PostgreSQL: backup and restore point to pg_dump and pg_restore', async t => {
  const url = 'postgresql://codepair@127.0.0.1:5432/codepair'
  const backup = await cli(url, ['backup', join(t.testdir(), 'x.db')])
  t.equal(backup.code, EXIT.usage)
  t.equal(backup.stderr, 'codepair: DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g. pg_dump --format=custom --file=codepair.dump "$DATABASE_URL"\n')
  const restore = await cli(url, ['restore', join(t.testdir(), 'x.db')])
  t.equal(restore.code, EXIT.usage)
  t.match(restore.stderr, /^codepair: DATABASE_URL is PostgreSQL: restore with pg_restore/)
})

const modeOf = (file: string) => statSync(file).mode & 0o777
const octal = (mode: number) => mode.toString(8).padStart(4, '0')
const rowsIn = (file: string) => {
  const db = new Database(file, { readonly: true })
  try { return (db.prepare('SELECT count(*) AS n FROM "Client"').get() as { n: number }).n } finally { db.close() }
}

t.test('a backup is private: mode 0600 whatever the umask gave the database, or the database\'s mode where it is stricter', async t => {
  t.equal(process.getuid?.(), 0, 'this machine runs the tests as root (the restore cases below rely on it)')
  const databaseUrl = freshSqliteUrl(t)
  const { file } = parseDatabaseUrl(databaseUrl) as { file: string }
  const dir = folderOf(databaseUrl)
  chmodSync(file, 0o644)
  const open = join(dir, 'open.db')
  const r1 = await cli(databaseUrl, ['backup', open])
  t.equal(r1.code, 0, r1.stderr)
  t.equal(octal(modeOf(open)), '0600', 'a 0644 database is backed up 0600')

  // --force replaces an existing, readable file: the result is private too.
  const existing = join(dir, 'existing.db')
  writeFileSync(existing, 'old', { mode: 0o666 })
  chmodSync(existing, 0o666)
  const r2 = await cli(databaseUrl, ['backup', existing, '--force'])
  t.equal(r2.code, 0, r2.stderr)
  t.equal(octal(modeOf(existing)), '0600', 'a 0666 file replaced with --force is 0600 afterwards')

  chmodSync(file, 0o400)
  const strict = join(dir, 'strict.db')
  const r3 = await cli(databaseUrl, ['backup', strict])
  t.equal(r3.code, 0, r3.stderr)
  t.equal(octal(modeOf(strict)), '0400', 'a 0400 database gives a 0400 backup')
  t.equal(rowsIn(strict), rowsIn(file), 'and it is a whole copy')
  t.same(readdirSync(dir).filter(f => f.endsWith('.tmp') || f.endsWith('-journal')), [], 'no temporary file left')
})

t.test('restore keeps the replaced database\'s owner, group and mode; another user is refused before anything changes', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const { file } = parseDatabaseUrl(databaseUrl) as { file: string }
  const dir = folderOf(databaseUrl)
  const { app } = await buildTestApp(t, { databaseUrl })
  await addClient(app)
  const backupFile = join(dir, 'b.db')
  t.equal((await cli(databaseUrl, ['backup', backupFile])).code, 0)
  await addClient(app) // the live database moves on: 2 clients, the backup has 1
  await app.close()

  // The server runs as uid 12345 (group 23456), its database 0640; root restores.
  chownSync(file, 12345, 23456)
  chmodSync(file, 0o640)
  const restored = await cli(databaseUrl, ['restore', backupFile])
  t.equal(restored.code, 0, restored.stderr)
  const st = statSync(file)
  t.same({ uid: st.uid, gid: st.gid, mode: octal(st.mode & 0o777) }, { uid: 12345, gid: 23456, mode: '0640' }, 'the restored database has the owner, group and mode of the one it replaced')
  t.equal(rowsIn(file), 1, 'and it is the backup')
  const kept = /The database it replaced is kept as (\S+)\.\n/.exec(restored.stdout)?.[1] as string
  const ks = statSync(kept)
  t.same({ uid: ks.uid, gid: ks.gid, mode: octal(ks.mode & 0o777) }, { uid: 12345, gid: 23456, mode: '0640' }, 'so has the copy of the replaced database kept beside it')
  t.equal(rowsIn(kept), 2)

  // Someone else (uid 23456, not root) may read the backup, but cannot give the database
  // back to uid 12345: refused, one line, the database left as it was.
  chownSync(backupFile, 23456, 23456)
  const before = readdirSync(dir).sort()
  const refused = await cliAs(23456, 23456, databaseUrl, ['restore', backupFile])
  t.equal(refused.code, EXIT.usage)
  t.equal(refused.stderr, `codepair: ${file} is owned by (uid 12345, gid 23456) and this restore runs as uid 23456, which cannot give the restored database that owner: run it as the owner or as root, e.g. sudo -u '#12345' codepair restore ${backupFile}\n`)
  t.equal(refused.stdout, '')
  t.same(readdirSync(dir).sort(), before, 'no file added or removed')
  t.same({ uid: statSync(file).uid, ino: statSync(file).ino }, { uid: 12345, ino: st.ino }, 'the database was not replaced')

  // The owner itself (not root) restores: same owner, group and mode, nothing to refuse.
  chownSync(dir, 12345, 23456)
  chownSync(backupFile, 12345, 23456)
  chmodSync(file, 0o600)
  const own = await cliAs(12345, 23456, databaseUrl, ['restore', backupFile])
  t.equal(own.code, 0, own.stderr)
  const os = statSync(file)
  t.same({ uid: os.uid, gid: os.gid, mode: octal(os.mode & 0o777) }, { uid: 12345, gid: 23456, mode: '0600' }, 'the owner restoring keeps its 0600')
  t.not(os.ino, st.ino, 'it was replaced')
})

t.test('backup and restore refuse the database itself and the files SQLite keeps beside it', async t => {
  const databaseUrl = freshSqliteUrl(t)
  const { file } = parseDatabaseUrl(databaseUrl) as { file: string }
  const dir = folderOf(databaseUrl)
  // A connection in WAL mode, as a running server: its -wal and -shm exist.
  const live = new Database(file)
  live.pragma('journal_mode = WAL')
  live.exec('CREATE TABLE IF NOT EXISTS scratch (x); INSERT INTO scratch VALUES (1)')
  t.teardown(() => live.close())
  t.ok(existsSync(`${file}-wal`) && existsSync(`${file}-shm`))
  const wal = readFileSync(`${file}-wal`)
  const link = join(dir, 'link.db')
  symlinkSync(file, link)
  const cases: Array<[string, string]> = [
    [file, 'the database itself'],
    [`${file}-wal`, `the database's -wal file (part of the live database ${file})`],
    [`${file}-shm`, `the database's -shm file (part of the live database ${file})`],
    [`${file}-journal`, `the database's -journal file (part of the live database ${file})`],
    [link, 'the database itself']
  ]
  for (const [target, what] of cases) {
    const r = await cli(databaseUrl, ['backup', target, '--force'])
    t.equal(r.code, EXIT.usage, `backup ${target}`)
    t.equal(r.stderr, `codepair: ${target} is ${what}: give another file name\n`)
  }
  const restore = await cli(databaseUrl, ['restore', `${file}-wal`])
  t.equal(restore.code, EXIT.usage)
  t.equal(restore.stderr, `codepair: ${file}-wal is the database's -wal file (part of the live database ${file}): give the backup's file name\n`)
  t.ok(readFileSync(`${file}-wal`).equals(wal), 'the -wal is untouched')
  t.notOk(existsSync(`${file}-journal`), 'no -journal was made')
  t.equal(live.pragma('integrity_check', { simple: true }), 'ok')
  t.equal((live.prepare('SELECT count(*) AS n FROM scratch').get() as { n: number }).n, 1)
})
