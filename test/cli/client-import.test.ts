// Moving a fleet: `codepair client create --id … --secret-stdin` and `codepair client import
// FILE` keep existing client ids and secrets, through the real CLI on SQLite and PostgreSQL,
// and the devices' unchanged credentials then work at the server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { sha256 } from '../../src/oauth/codes.js'
import { buildTestApp } from '../helpers/app.js'
import { cli } from '../helpers/cli.js'
import { eachDatabase } from '../helpers/db.js'

const flaskBasic = (id: string, secret: string) => `basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

void eachDatabase(t, 'client create with an existing id and secret', async (t, url) => {
  const created = await cli(url, ['client', 'create', '--name', 'Old TV', '--id', '12345', '--secret-stdin', '--json'], '123456789\n')
  t.equal(created.code, 0, created.stderr)
  const c = JSON.parse(created.stdout)
  t.equal(c.client_id, '12345')
  t.equal(c.type, 'confidential', 'a kept secret makes the client confidential')
  t.notMatch(created.stdout, '123456789', 'the secret it was given is not printed back')

  const readable = await cli(url, ['client', 'create', '--name', 'Other TV', '--id', 'tv-2', '--secret-stdin'], 'short\n')
  t.equal(readable.code, 0, readable.stderr)
  t.match(readable.stdout, /client_id: +tv-2/)
  t.match(readable.stdout, /shorter than 22 characters: it is kept so devices keep working/)
  t.match(readable.stdout, 'codepair client rotate-secret')

  const again = await cli(url, ['client', 'create', '--name', 'Dup', '--id', '12345'])
  t.equal(again.code, 2)
  t.match(again.stderr, 'client id already in use: 12345')
  const colon = await cli(url, ['client', 'create', '--name', 'x', '--id', 'a:b'])
  t.equal(colon.code, 2)
  t.match(colon.stderr, 'no colon or spaces')
  const empty = await cli(url, ['client', 'create', '--name', 'x', '--id', 'empty-secret', '--secret-stdin'], '')
  t.equal(empty.code, 2)
  t.match(empty.stderr, 'a secret is 1 to 512 characters')

  const { app } = await buildTestApp(t, { databaseUrl: url })
  const row = await app.codepair.storage.db.client.findUniqueOrThrow({ where: { id: '12345' } })
  t.equal(row.secretHash, sha256('123456789'), 'stored as the SHA-256 of the secret it was given')
  const res = await app.inject({ method: 'POST', url: '/oauth/device', headers: { authorization: flaskBasic('12345', '123456789') } })
  t.equal(res.statusCode, 200, 'the device\'s unchanged credentials work')
})

void eachDatabase(t, 'client import from a JSON file, all or none', async (t, url) => {
  const dir = mkdtempSync(join(tmpdir(), 'codepair-import-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  // As a database export of flask-oauth2-devices' Client table gives them, plus codepair's names.
  const fleet = [
    { client_id: 'tv-1', client_secret: 'k9+Vv/3qQ=rest-of-a-long-secret', user_id: 1, _redirect_uris: 'http://fail.com', _default_scopes: 'read' },
    { client_id: 'tv-2', client_secret: 'tiny-s3', name: 'Bedroom TV', scopes: 'openid profile offline_access', default_scopes: 'openid' },
    { client_id: 424242, name: 'A public one' }
  ]
  const file = join(dir, 'clients.json')
  writeFileSync(file, JSON.stringify(fleet))
  const imported = await cli(url, ['client', 'import', file])
  t.equal(imported.code, 0, imported.stderr)
  t.match(imported.stdout, /^client_id +name +type +enabled +scopes\n/)
  t.match(imported.stdout, /tv-1 +tv-1 +confidential +true +read/)
  t.match(imported.stdout, /424242 +A public one +public/)
  t.match(imported.stdout, '3 clients imported.')
  t.match(imported.stdout, 'The secret of tv-2 is shorter than 22 characters')
  t.notMatch(imported.stdout, /k9\+Vv|tiny-s3|rest-of/, 'secrets are never printed')

  const list = JSON.parse((await cli(url, ['client', 'list', '--json'])).stdout)
  t.same(list.map((c: any) => [c.client_id, c.type, c.scopes.join(' '), c.defaultScopes.join(' ')]).sort(), [
    ['424242', 'public', 'openid profile email offline_access', 'openid profile email'],
    ['tv-1', 'confidential', 'read', 'read'],
    ['tv-2', 'confidential', 'openid profile offline_access', 'openid']
  ])

  const count = async () => JSON.parse((await cli(url, ['client', 'list', '--json'])).stdout).length
  const conflicting = join(dir, 'conflict.json')
  writeFileSync(conflicting, JSON.stringify([{ client_id: 'tv-9', client_secret: 'x'.repeat(30) }, { client_id: 'tv-1', client_secret: 'y'.repeat(30) }]))
  const conflict = await cli(url, ['client', 'import', conflicting])
  t.equal(conflict.code, 2)
  t.match(conflict.stderr, 'client id already in use: tv-1')
  t.equal(await count(), 3, 'nothing of a refused file is created')

  const cases: Array<[string, string, string | RegExp]> = [
    ['unknown field', JSON.stringify([{ client_id: 'a' }, { client_id: 'b', client_secert: 'x' }]), 'entry 2: unknown field client_secert'],
    ['twice', JSON.stringify([{ client_id: 'a' }, { client_id: 'a' }]), 'the file names a client id twice: a'],
    ['no id', JSON.stringify([{ name: 'x' }]), 'entry 1: client_id is required'],
    ['bad scope', JSON.stringify([{ client_id: 'a', scopes: 'open"id' }]), 'entry 1: --scopes: scopes are words'],
    ['not an array', JSON.stringify({ client_id: 'a' }), 'must hold a JSON array of clients'],
    ['not JSON', 'client_id=a', /is not JSON/]
  ]
  for (const [what, text, message] of cases) {
    const f = join(dir, `${what.replace(/ /g, '-')}.json`)
    writeFileSync(f, text)
    const r = await cli(url, ['client', 'import', f])
    t.equal(r.code, 2, what)
    t.match(r.stderr, message, what)
  }
  t.equal((await cli(url, ['client', 'import', join(dir, 'missing.json')])).code, 2, 'a missing file')
  t.equal(await count(), 3, 'and still nothing more')

  const fromStdin = await cli(url, ['client', 'import', '-', '--json'], JSON.stringify([{ client_id: 'tv-3', client_secret: 'z'.repeat(32) }]))
  t.equal(fromStdin.code, 0, fromStdin.stderr)
  t.same(JSON.parse(fromStdin.stdout).map((c: any) => c.client_id), ['tv-3'])

  // The devices keep their credentials: Basic as that library's devices send it, unencoded.
  const { app } = await buildTestApp(t, { databaseUrl: url })
  const res = await app.inject({ method: 'POST', url: '/oauth/device', headers: { authorization: flaskBasic('tv-1', fleet[0]?.client_secret as string) } })
  t.equal(res.statusCode, 200, res.body)
  const rec = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  t.equal(rec.scope, 'read', 'the imported default scopes apply')
})
