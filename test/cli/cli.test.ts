// The admin CLI as an administrator runs it: the built bin, a real database, exit codes.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { sha256 } from '../../src/oauth/codes.js'
import { createPrismaClient } from '../../src/storage/prisma.js'
import { parseDatabaseUrl } from '../../src/storage/database-url.js'
import { eachDatabase } from '../helpers/db.js'

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname

interface Run { code: number | null, stdout: string, stderr: string }

function cli (databaseUrl: string, args: string[], stdin?: string, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl }, cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin ?? '')
  })
}

void eachDatabase(t, 'clients', async (t, url) => {
  const created = await cli(url, ['client', 'create', '--name', 'Kitchen TV', '--json'])
  t.equal(created.code, 0, created.stderr)
  const pub = JSON.parse(created.stdout)
  t.equal(pub.type, 'public')
  t.equal(pub.client_secret, undefined)
  t.same(pub.scopes, ['openid', 'profile', 'email', 'offline_access'])
  t.same(pub.grantTypes, ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'])

  const conf = JSON.parse((await cli(url, ['client', 'create', '--name', 'Backend', '--confidential', '--scopes', 'openid profile', '--json'])).stdout)
  t.equal(conf.type, 'confidential')
  t.type(conf.client_secret, 'string')
  t.ok(conf.client_secret.length >= 43, 'a 256-bit secret')

  const db = await createPrismaClient(parseDatabaseUrl(url))
  t.teardown(async () => { await db.$disconnect() })
  const row = await db.client.findUniqueOrThrow({ where: { id: conf.client_id } })
  t.equal(row.secretHash, sha256(conf.client_secret), 'only a hash of the secret is stored')

  const readable = await cli(url, ['client', 'create', '--name', 'Readable', '--confidential'])
  t.match(readable.stdout, /Client created\n  client_id: +\S+\n  client_secret: +\S+/)
  t.match(readable.stdout, /shown only once/)

  const list = JSON.parse((await cli(url, ['client', 'list', '--json'])).stdout)
  t.same(list.map((c: any) => c.name), ['Kitchen TV', 'Backend', 'Readable'])
  t.notMatch(JSON.stringify(list), /secret/i, 'list never shows secrets or hashes')
  t.match((await cli(url, ['client', 'list'])).stdout, /^id +name +type +enabled +scopes\n/)

  const shown = JSON.parse((await cli(url, ['client', 'show', pub.client_id, '--json'])).stdout)
  t.equal(shown.name, 'Kitchen TV')

  const rotated = JSON.parse((await cli(url, ['client', 'rotate-secret', conf.client_id, '--json'])).stdout)
  t.not(rotated.client_secret, conf.client_secret)
  t.equal((await db.client.findUniqueOrThrow({ where: { id: conf.client_id } })).secretHash, sha256(rotated.client_secret))
  const rotatePublic = await cli(url, ['client', 'rotate-secret', pub.client_id])
  t.equal(rotatePublic.code, 2)
  t.match(rotatePublic.stderr, /is public and has no secret/)

  t.equal((await cli(url, ['client', 'disable', pub.client_id])).code, 0)
  t.equal((await db.client.findUniqueOrThrow({ where: { id: pub.client_id } })).enabled, false)

  const unknown = await cli(url, ['client', 'show', 'nope'])
  t.equal(unknown.code, 3)
  t.match(unknown.stderr, 'codepair: no client with id "nope"')
  const noName = await cli(url, ['client', 'create'])
  t.equal(noName.code, 2)
  t.match(noName.stderr, '--name is required')
  const badGrant = await cli(url, ['client', 'create', '--name', 'x', '--grant-types', 'password'])
  t.equal(badGrant.code, 2)
  t.match(badGrant.stderr, 'unknown grant type "password"')
  const badDefaults = await cli(url, ['client', 'create', '--name', 'x', '--scopes', 'openid', '--default-scopes', 'admin'])
  t.match(badDefaults.stderr, '--default-scopes must be among --scopes')
  const badFlag = await cli(url, ['client', 'create', '--nmae', 'x'])
  t.equal(badFlag.code, 2)
  const jsonErr = await cli(url, ['client', 'show', 'nope', '--json'])
  t.same(JSON.parse(jsonErr.stderr), { error: 'no client with id "nope"' })
})

void eachDatabase(t, 'users', async (t, url) => {
  const created = await cli(url, ['user', 'create', '--username', 'Bob', '--name', 'Bob B', '--email', 'bob@example.com', '--password-stdin', '--json'], 'a long enough password\n')
  t.equal(created.code, 0, created.stderr)
  const bob = JSON.parse(created.stdout)
  t.equal(bob.username, 'bob', 'usernames are case-insensitive (stored lower-case)')
  t.equal(bob.passwordHash, undefined)

  const db = await createPrismaClient(parseDatabaseUrl(url))
  t.teardown(async () => { await db.$disconnect() })
  const row = await db.user.findUniqueOrThrow({ where: { username: 'bob' } })
  t.match(row.passwordHash, /^\$argon2id\$v=19\$m=19456,(t=2,p=1|p=1,t=2)\$/, 'argon2id at OWASP parameters')

  const dup = await cli(url, ['user', 'create', '--username', 'BOB', '--password-stdin'], 'another long password')
  t.equal(dup.code, 2)
  t.match(dup.stderr, 'a user named "bob" already exists')
  const weak = await cli(url, ['user', 'create', '--username', 'carol', '--password-stdin'], 'short\n')
  t.equal(weak.code, 2)
  t.match(weak.stderr, 'at least 8 characters')
  const empty = await cli(url, ['user', 'create', '--username', 'carol', '--password-stdin'], '')
  t.match(empty.stderr, 'the password is empty')
  const same = await cli(url, ['user', 'create', '--username', 'carolcarol', '--password-stdin'], 'CarolCarol')
  t.match(same.stderr, 'must not be the username')
  const noTty = await cli(url, ['user', 'create', '--username', 'dave'])
  t.equal(noTty.code, 1)
  t.match(noTty.stderr, 'pipe it in with --password-stdin')
  const badName = await cli(url, ['user', 'create', '--username', 'no spaces', '--password-stdin'], 'a long enough password')
  t.match(badName.stderr, '--username must be')

  t.match((await cli(url, ['user', 'list'])).stdout, /^username +name +email +enabled +createdAt\nbob +Bob B +bob@example.com +true/)
  const changed = await cli(url, ['user', 'set-password', 'bob', '--password-stdin'], 'a brand new password')
  t.equal(changed.code, 0, changed.stderr)
  t.not((await db.user.findUniqueOrThrow({ where: { username: 'bob' } })).passwordHash, row.passwordHash)
  t.equal((await cli(url, ['user', 'disable', 'bob'])).code, 0)
  t.equal((await db.user.findUniqueOrThrow({ where: { username: 'bob' } })).enabled, false)
  const missing = await cli(url, ['user', 'disable', 'nobody'])
  t.equal(missing.code, 3)
})

t.test('migrate creates a fresh SQLite database; help and unknown commands', async t => {
  const dir = t.testdir()
  const url = `file:${join(dir, 'nested', 'fresh.db')}`
  const first = await cli(url, ['migrate'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, 'Migrations applied.')
  const again = await cli(url, ['migrate'])
  t.match(again.stdout, 'Database is up to date.')
  t.equal((await cli(url, ['client', 'create', '--name', 'x'])).code, 0, 'usable right after')
  const help = await cli(url, ['help'])
  t.equal(help.code, 0)
  t.match(help.stdout, 'client create --name NAME')
  const none = await cli(url, [])
  t.equal(none.code, 2)
  const unknown = await cli(url, ['frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, 'unknown command "frobnicate"')
})
