// `codepair client …` against SQLite and PostgreSQL: output, storage, exit codes.
import t from 'tap'
import { generateClientId } from '../../src/admin/clients.js'
import { sha256 } from '../../src/oauth/codes.js'
import { createPrismaClient } from '../../src/storage/prisma.js'
import { parseDatabaseUrl } from '../../src/storage/database-url.js'
import { eachDatabase } from '../helpers/db.js'
import { cli } from '../helpers/cli.js'

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
  t.match((await cli(url, ['client', 'list'])).stdout, /^client_id +name +type +enabled +scopes\n/, 'client_id, as create says')
  t.same(Object.keys(list[0]).slice(0, 2), ['client_id', 'name'], 'client_id in --json too')

  const shown = JSON.parse((await cli(url, ['client', 'show', pub.client_id, '--json'])).stdout)
  t.equal(shown.name, 'Kitchen TV')
  t.equal(shown.client_id, pub.client_id)
  t.match((await cli(url, ['client', 'show', pub.client_id])).stdout, /^Client\n  client_id: +\S+\n/)

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

t.test('generated client ids never begin with "-" (a CLI argument would read as an option)', async t => {
  // One base64url id in 64 begins with "-": 10,000 draws would show about 156 of them.
  const ids = Array.from({ length: 10_000 }, generateClientId)
  t.equal(ids.filter(id => id.startsWith('-')).length, 0)
  t.ok(ids.every(id => /^[A-Za-z0-9_-]{22}$/.test(id)), '128 bits, base64url')
  t.equal(new Set(ids).size, ids.length)
})
