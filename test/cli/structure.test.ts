// The shape every `codepair` command shares (src/cli/program.ts): help per command,
// suggestions for mistyped commands and options, our wording, exit 2 for bad input.
import { join } from 'node:path'
import type { Command } from 'commander'
import t from 'tap'
import { buildProgram } from '../../src/cli/commands.js'
import { cli } from '../helpers/cli.js'

function leaves (cmd: Command, path: string[] = []): string[][] {
  return cmd.commands.filter(c => c.name() !== 'help').flatMap(c => c.commands.length === 0 ? [[...path, c.name()]] : leaves(c, [...path, c.name()]))
}

t.test('migrate creates a fresh SQLite database, then is a no-op', async t => {
  const url = `file:${join(t.testdir(), 'nested', 'fresh.db')}`
  const first = await cli(url, ['migrate'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^Migrations applied: 20261123000000_init, /)
  const again = await cli(url, ['migrate', '--json'])
  t.same(JSON.parse(again.stdout), { migrated: true, applied: [], unknown: [] })
  t.equal((await cli(url, ['client', 'create', '--name', 'x'])).code, 0, 'usable right after')
})

t.test('every command prints its own help with --help, and exits 0', async t => {
  const url = `file:${join(t.testdir(), 'unused.db')}`
  const all = leaves(buildProgram())
  t.ok(all.length >= 18, `${all.length} commands`)
  for (const path of all) {
    const r = await cli(url, [...path, '--help'])
    t.equal(r.code, 0, path.join(' '))
    t.match(r.stdout, new RegExp(`^Usage: codepair ${path.join(' ')} `), `${path.join(' ')}: its own usage line`)
    t.match(r.stdout, '--json', `${path.join(' ')} takes --json`)
  }
  const create = await cli(url, ['client', 'create', '-h'])
  t.match(create.stdout, /--name <NAME> +shown to people/)
  t.match(create.stdout, '--confidential')
  const viaHelp = await cli(url, ['help', 'migrate'])
  t.match(viaHelp.stdout, /^Usage: codepair migrate /)
  const root = await cli(url, ['--help'])
  t.equal(root.code, 0)
  t.match(root.stdout, /client +OAuth clients/)
  t.match(root.stdout, 'Exit codes: 0 done')
})

t.test('bad input: exit 2, one message in our words, a suggestion when there is one', async t => {
  const url = `file:${join(t.testdir(), 'unused.db')}`
  const cases: Array<[string[], string | RegExp]> = [
    [['frobnicate'], 'codepair: unknown command "frobnicate"\nSee `codepair --help`.'],
    [['clinet', 'list'], 'codepair: unknown command "clinet" (did you mean "codepair client"?)'],
    [['client', 'crate'], 'codepair client: unknown command "crate" (did you mean "codepair client create"?)'],
    [['client', 'create', '--nmae', 'x'], 'codepair client create: unknown option --nmae (did you mean --name?)\nSee `codepair client create --help`.'],
    [['client', 'create', '--name'], 'codepair client create: --name needs a value (--name NAME)'],
    [['client', 'create'], 'codepair client create: --name is required (--name NAME)'],
    [['client', 'show'], 'codepair client show: CLIENT_ID is required'],
    [['client', 'list', 'extra'], 'codepair client list: too many arguments: expected 0, got 1'],
    [['keys', 'rotate', '--publish-seconds', 'soon'], 'codepair keys rotate: --publish-seconds must be a whole number of seconds (got "soon")'],
    [['migrate', '--wait', 'soon'], 'codepair migrate: --wait must be a whole number of seconds from 0 to 3600 (got "soon")']
  ]
  for (const [args, message] of cases) {
    const r = await cli(url, args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, message, args.join(' '))
    t.notMatch(r.stderr, /error:|To specify a positional argument|^\s+at /m, `${args.join(' ')}: no raw parser or stack output`)
    t.equal(r.stdout, '', 'nothing on stdout')
  }
  const json = await cli(url, ['client', 'create', '--nmae', 'x', '--json'])
  t.same(JSON.parse(json.stderr), { error: 'unknown option --nmae (did you mean --name?)' })
  for (const args of [[], ['client'], ['user']]) {
    const r = await cli(url, args)
    t.equal(r.code, 2, `"${args.join(' ')}" with no command: its help, as bad input`)
    t.match(r.stderr, /^Usage: codepair/)
  }
})

t.test('commands on a database nobody migrated say so and exit 65, never hang', async t => {
  const dir = t.testdir()
  for (const args of [['user', 'list'], ['keys', 'list'], ['client', 'create', '--name', 'x']]) {
    const r = await cli(`file:${join(dir, `${args[0] ?? 'x'}-unmigrated.db`)}`, args)
    t.equal(r.code, 65, args.join(' '))
    t.match(r.stderr, 'the database has no codepair tables yet: run `codepair migrate` first')
  }
})
