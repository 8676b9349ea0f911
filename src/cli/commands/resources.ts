// codepair resource …
import type { Command } from 'commander'
import { createResourceServer, listResourceServers, setResourceServerEnabled, showResourceServer } from '../../admin/resources.js'
import { EXIT } from '../../exit-codes.js'
import { withDb } from '../context.js'
import { printRecord, printTable } from '../output.js'
import { group, run } from '../program.js'

export function register (program: Command): void {
  const resource = group(program, 'resource', 'APIs a token can be for (RFC 8707 resource, the token\'s aud)')

  resource.command('create')
    .description('register an API')
    .requiredOption('--identifier <URI>', 'its absolute URI, e.g. https://api.example.com')
    .requiredOption('--scopes <SCOPES>', 'the scopes it accepts, e.g. "read write"')
    .option('--name <NAME>', 'shown to people (default: the identifier\'s host)')
    .action(run(async ({ opts, json }) => {
      printRecord(json, 'Resource server created', await withDb(db => createResourceServer(db, { identifier: opts.identifier, name: opts.name, scopes: opts.scopes })))
      return EXIT.ok
    }))

  resource.command('list')
    .description('every API')
    .action(run(async ({ json }) => {
      printTable(json, await withDb(listResourceServers), ['id', 'identifier', 'name', 'enabled', 'scopes'])
      return EXIT.ok
    }))

  resource.command('show')
    .description('one API')
    .argument('<ID_OR_IDENTIFIER>')
    .action(run(async ({ args: [id = ''], json }) => {
      printRecord(json, 'Resource server', await withDb(db => showResourceServer(db, id)))
      return EXIT.ok
    }))

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    resource.command(verb)
      .description(enabled ? 'issue tokens for a disabled API again' : 'stop issuing tokens for an API')
      .argument('<ID_OR_IDENTIFIER>')
      .action(run(async ({ args: [id = ''], json }) => {
        printRecord(json, `Resource server ${verb}d`, await withDb(db => setResourceServerEnabled(db, id, enabled)))
        return EXIT.ok
      }))
  }
}
