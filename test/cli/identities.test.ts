// `codepair user identities / link / unlink` against SQLite and PostgreSQL: what operators
// use to let people in through an `existing-only` provider, and to undo it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createUser } from '../../src/admin/users.js'
import { parseDatabaseUrl } from '../../src/storage/database-url.js'
import { createPrismaClient } from '../../src/storage/prisma.js'
import { cli } from '../helpers/cli.js'
import { eachDatabase } from '../helpers/db.js'

void eachDatabase(t, 'user identities, link, unlink', async (t, url) => {
  // The providers file comes from a .env in the working directory, as on a server.
  const cwd = mkdtempSync(join(tmpdir(), 'codepair-identities-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  writeFileSync(join(cwd, 'providers.json'), JSON.stringify({ providers: [{ name: 'corp', issuer: 'https://login.corp.example', clientId: 'cp', clientSecret: 'x' }] }))
  writeFileSync(join(cwd, '.env'), 'UPSTREAM_PROVIDERS_FILE=providers.json\n')
  const db = await createPrismaClient(parseDatabaseUrl(url))
  t.teardown(async () => { await db.$disconnect() })
  const bob = await createUser(db, { username: 'bob', password: 'a long enough password' })
  await createUser(db, { username: 'carol', password: 'a long enough password' })
  const run = async (args: string[]) => await cli(url, args, undefined, cwd)

  t.equal((await run(['user', 'identities', 'bob'])).stdout, '(none)\n')
  const linked = await run(['user', 'link', 'Bob', '--provider', 'corp', '--subject', '00u1abcd', '--json'])
  t.equal(linked.code, 0, linked.stderr)
  t.match(JSON.parse(linked.stdout), { username: 'bob', provider: 'corp', subject: '00u1abcd', email: null, lastLoginAt: null })
  t.match(await db.externalIdentity.findMany(), [{ provider: 'corp', subject: '00u1abcd', userId: bob.id }])

  const listed = await run(['user', 'identities', 'bob'])
  t.match(listed.stdout, /^provider +subject +email +createdAt +lastLoginAt\ncorp +00u1abcd +- +\d{4}-/)
  t.match(JSON.parse((await run(['user', 'identities', 'bob', '--json'])).stdout), [{ provider: 'corp', subject: '00u1abcd' }])

  const again = await run(['user', 'link', 'bob', '--provider', 'corp', '--subject', '00u1abcd'])
  t.equal(again.code, 2)
  t.match(again.stderr, 'corp 00u1abcd is already linked to "bob"')
  const stolen = await run(['user', 'link', 'carol', '--provider', 'corp', '--subject', '00u1abcd'])
  t.equal(stolen.code, 2, 'one identity, one account')
  t.match(stolen.stderr, 'corp 00u1abcd is already linked to "bob"; unlink it there first')
  const typo = await run(['user', 'link', 'bob', '--provider', 'crop', '--subject', 'x'])
  t.equal(typo.code, 2)
  t.match(typo.stderr, 'no provider named "crop" in UPSTREAM_PROVIDERS_FILE (it lists corp)')
  const nobody = await run(['user', 'link', 'nobody', '--provider', 'corp', '--subject', 'x'])
  t.equal(nobody.code, 3)
  t.match(nobody.stderr, 'no user named "nobody"')
  const noSubject = await run(['user', 'link', 'bob', '--provider', 'corp'])
  t.not(noSubject.code, 0)
  t.match(noSubject.stderr, '--subject')

  const wrongOwner = await run(['user', 'unlink', 'carol', '--provider', 'corp', '--subject', '00u1abcd'])
  t.equal(wrongOwner.code, 3, 'never another person\'s link')
  t.match(wrongOwner.stderr, '"carol" has no corp identity 00u1abcd')
  t.equal(await db.externalIdentity.count(), 1)
  const unlinked = await run(['user', 'unlink', 'bob', '--provider', 'corp', '--subject', '00u1abcd'])
  t.equal(unlinked.code, 0, unlinked.stderr)
  t.match(unlinked.stdout, 'Identity unlinked')
  t.equal(await db.externalIdentity.count(), 0)

  // Without a providers file nothing can be linked (there is nothing to sign in with).
  const bare = mkdtempSync(join(tmpdir(), 'codepair-identities-'))
  t.teardown(() => rmSync(bare, { recursive: true, force: true }))
  const none = await cli(url, ['user', 'link', 'bob', '--provider', 'corp', '--subject', 'x'], undefined, bare)
  t.equal(none.code, 2)
  t.match(none.stderr, 'no provider named "corp" in UPSTREAM_PROVIDERS_FILE (it lists none)')
})
