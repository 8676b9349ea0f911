// `codepair user …` against SQLite and PostgreSQL: passwords from stdin, policy, exit codes.
import t from 'tap'
import { createPrismaClient } from '../../src/storage/prisma.js'
import { parseDatabaseUrl } from '../../src/storage/database-url.js'
import { eachDatabase } from '../helpers/db.js'
import { cli } from '../helpers/cli.js'

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
  t.equal(noTty.code, 2, 'bad input')
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

