// codepair client …  Every output names the id `client_id`, as OAuth does (and as the
// device's configuration will), in create, list and show alike.
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import {
  createClient, DEFAULT_CLIENT_SCOPES, importClients, listClients, rotateClientSecret, setClientEnabled, SHORT_SECRET_CHARACTERS, showClient,
  type ClientView, type CreatedClient
} from '../../admin/clients.js'
import { clientRequiresSecondFactor, setClientRequiresSecondFactor } from '../../admin/factors.js'
import { EXIT } from '../../exit-codes.js'
import { withDb } from '../context.js'
import { printRecord, printTable } from '../output.js'
import { readStdin } from '../password-input.js'
import { group, run, UsageError } from '../program.js'

export function clientRecord (c: ClientView | CreatedClient): Record<string, unknown> {
  const { id, clientSecret, ...rest } = c as CreatedClient
  return { client_id: id, ...(clientSecret === undefined ? {} : { client_secret: clientSecret }), ...rest }
}

const SECRET_NOTE = 'Store the client_secret now: it is shown only once.'

function shortSecretNote (ids: string[]): string {
  return `The secret of ${ids.join(', ')} is shorter than ${SHORT_SECRET_CHARACTERS} characters: it is kept so devices keep working, ` +
    'but it is weaker than the 256-bit secrets codepair makes. Run `codepair client rotate-secret ID` once the devices can take a new one.'
}

export function register (program: Command): void {
  const client = group(program, 'client', 'OAuth clients: the devices and apps that ask for codes')

  client.command('create')
    .description('register a client (public unless --confidential)')
    .requiredOption('--name <NAME>', 'shown to people on the confirmation page')
    .option('--confidential', 'the client authenticates with a secret (shown once)')
    .option('--scopes <SCOPES>', 'scopes it may ask for', DEFAULT_CLIENT_SCOPES)
    .option('--default-scopes <SCOPES>', 'scopes when it asks for none (default: --scopes without offline_access)')
    .option('--grant-types <TYPES>', 'device_code and/or refresh_token', 'device_code refresh_token')
    .option('--id <CLIENT_ID>', 'keep an existing client id (moving a fleet from another server)')
    .option('--secret-stdin', 'keep an existing secret, read from standard input (makes the client confidential; not printed back)')
    .option('--require-second-factor', 'people approving this client need a second factor, whatever REQUIRE_SECOND_FACTOR says')
    .action(run(async ({ opts, json }) => {
      const secret = opts.secretStdin === true ? await readStdin() : undefined
      const c = await withDb(async db => {
        const created = await createClient(db, {
          name: opts.name,
          confidential: opts.confidential,
          scopes: opts.scopes,
          defaultScopes: opts.defaultScopes,
          grantTypes: opts.grantTypes,
          id: opts.id,
          secret
        })
        if (opts.requireSecondFactor === true) await setClientRequiresSecondFactor(db, created.id, true)
        return { ...created, requireSecondFactor: opts.requireSecondFactor === true }
      })
      printRecord(json, 'Client created', clientRecord(c),
        c.clientSecret !== undefined
          ? SECRET_NOTE
          : secret !== undefined && secret.length < SHORT_SECRET_CHARACTERS ? shortSecretNote([c.id]) : undefined)
      return EXIT.ok
    }))

  client.command('import')
    .description('clients with their ids and secrets from a JSON array (all or none; "-" reads standard input)')
    .argument('<FILE>')
    .action(run(async ({ args: [file = ''], json }) => {
      const text = file === '-'
        ? await readStdin()
        : await readFile(file, 'utf8').catch((err: Error) => { throw new UsageError(`cannot read ${file}: ${err.message}`, 'codepair client import') })
      let entries: unknown
      try {
        entries = JSON.parse(text)
      } catch (err) {
        throw new UsageError(`${file} is not JSON: ${(err as Error).message}`, 'codepair client import')
      }
      const { imported, shortSecrets } = await withDb(db => importClients(db, entries))
      printTable(json, imported.map(clientRecord), ['client_id', 'name', 'type', 'enabled', 'scopes'])
      if (!json) process.stdout.write(`${imported.length} client${imported.length === 1 ? '' : 's'} imported.\n${shortSecrets.length > 0 ? `\n${shortSecretNote(shortSecrets)}\n` : ''}`)
      return EXIT.ok
    }))

  client.command('list')
    .description('every client')
    .action(run(async ({ json }) => {
      printTable(json, (await withDb(listClients)).map(clientRecord), ['client_id', 'name', 'type', 'enabled', 'scopes'])
      return EXIT.ok
    }))

  client.command('show')
    .description('one client')
    .argument('<CLIENT_ID>')
    .action(run(async ({ args: [id = ''], json }) => {
      printRecord(json, 'Client', clientRecord(await withDb(db => showClient(db, id))))
      return EXIT.ok
    }))

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    client.command(verb)
      .description(enabled ? 'let a disabled client ask for codes again' : 'refuse new codes and tokens for a client')
      .argument('<CLIENT_ID>')
      .action(run(async ({ args: [id = ''], json }) => {
        printRecord(json, `Client ${verb}d`, clientRecord(await withDb(db => setClientEnabled(db, id, enabled))))
        return EXIT.ok
      }))
  }

  client.command('update')
    .description('change a client\'s sign-in policy')
    .argument('<CLIENT_ID>')
    .option('--require-second-factor', 'people approving this client need a second factor (as REQUIRE_SECOND_FACTOR=always)')
    .option('--no-require-second-factor', 'back to the server-wide REQUIRE_SECOND_FACTOR')
    .action(run(async ({ args: [id = ''], opts, json }) => {
      if (opts.requireSecondFactor === undefined) throw new UsageError('nothing to change: give --require-second-factor or --no-require-second-factor', 'codepair client update')
      const c = await withDb(async db => {
        await setClientRequiresSecondFactor(db, id, opts.requireSecondFactor === true)
        return { ...await showClient(db, id), requireSecondFactor: await clientRequiresSecondFactor(db, id) }
      })
      printRecord(json, 'Client updated', clientRecord(c))
      return EXIT.ok
    }))

  client.command('rotate-secret')
    .description('new secret for a confidential client (shown once; the old one stops within 5 s)')
    .argument('<CLIENT_ID>')
    .action(run(async ({ args: [id = ''], json }) => {
      const c = await withDb(db => rotateClientSecret(db, id))
      printRecord(json, 'Secret rotated', { client_id: c.id, client_secret: c.clientSecret },
        `${SECRET_NOTE} The old secret stops working within 5 seconds.`)
      return EXIT.ok
    }))
}
