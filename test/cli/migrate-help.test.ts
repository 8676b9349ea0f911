// `codepair migrate` on a fresh database, help and unknown commands.
import { join } from 'node:path'
import t from 'tap'
import { cli } from '../helpers/cli.js'

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

t.test('commands on a database nobody migrated say so and exit, never hang', async t => {
  const dir = t.testdir()
  for (const args of [['user', 'list'], ['keys', 'list'], ['client', 'create', '--name', 'x']]) {
    const r = await cli(`file:${join(dir, `${args[0] ?? 'x'}-unmigrated.db`)}`, args)
    t.equal(r.code, 1, args.join(' '))
    t.match(r.stderr, 'the database has no codepair tables yet: run `codepair migrate` first')
  }
})
