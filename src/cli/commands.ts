// The administration commands behind the `codepair` bin (src/cli/main.ts).
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { createClient, importClients, listClients, rotateClientSecret, setClientEnabled, SHORT_SECRET_CHARACTERS, showClient } from '../admin/clients.js'
import { AdminError } from '../admin/errors.js'
import { listKeys, rotateKeys } from '../admin/keys.js'
import { createResourceServer, listResourceServers, setResourceServerEnabled, showResourceServer } from '../admin/resources.js'
import { createUser, listUsers, setUserEnabled, setUserPassword } from '../admin/users.js'
import { loadConfig } from '../config.js'
import { createStorage, type Storage } from '../storage/index.js'
import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from '../storage/database-url.js'
import { migrateDatabase } from '../storage/migrate.js'
import { createPrismaClient, type Db } from '../storage/prisma.js'
import { printRecord, printTable } from './output.js'
import { DEVICE_EXIT, runDeviceSimulator } from './device-simulator.js'
import { readPassword, readStdin } from './password-input.js'
import { isNotMigrated, NOT_MIGRATED } from '../storage/errors.js'

export const USAGE = `Usage: codepair <command> [options]

Database
  migrate                              apply pending database migrations

Clients
  client create --name NAME [--confidential] [--scopes "openid profile offline_access"]
                [--default-scopes "openid profile"] [--grant-types "device_code refresh_token"]
                [--id ID] [--secret-stdin]   keep an existing id, and a secret read from stdin
  client import FILE                   clients with their ids and secrets from a JSON array
                                       (all or none; "-" reads stdin)
  client list
  client show ID
  client disable ID | client enable ID
  client rotate-secret ID              new secret for a confidential client (shown once)

Users
  user create --username NAME [--name "Full Name"] [--email ADDRESS] [--password-stdin]
  user list
  user disable NAME | user enable NAME
  user set-password NAME [--password-stdin]

Resource servers (APIs a token can be for: RFC 8707 resource, the token's aud)
  resource create --identifier https://api.example.com --scopes "read write" [--name NAME]
  resource list
  resource show ID|IDENTIFIER
  resource disable ID|IDENTIFIER | resource enable ID|IDENTIFIER

Signing keys
  keys list
  keys rotate [--publish-seconds N]     publish a new key; it signs after N seconds
                                       (default KEY_PUBLISH_SECONDS); old keys retire
                                       once every token they signed has expired

Device simulator (a TV on the command line, built on codepair/device)
  device --client ID [--scope "openid profile"] [--resource URI] [--issuer URL] [--token-file PATH]
                                       shows the code and a QR code, polls, then calls /api/me;
                                       exit 0 approved, 10 denied, 11 expired, 1 error.
                                       A confidential client's secret comes from CODEPAIR_CLIENT_SECRET.

Every command takes --json for machine-readable output. Passwords are read from a
hidden prompt, or from standard input with --password-stdin; never from arguments.
DATABASE_URL (environment or .env) selects the database; default ${DEFAULT_DATABASE_URL}.
`

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  confidential: { type: 'boolean' },
  scopes: { type: 'string' },
  'default-scopes': { type: 'string' },
  'grant-types': { type: 'string' },
  id: { type: 'string' },
  'secret-stdin': { type: 'boolean' },
  username: { type: 'string' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  identifier: { type: 'string' },
  client: { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string' },
  issuer: { type: 'string' },
  'token-file': { type: 'string' },
  'publish-seconds': { type: 'string' }
} as const

function databaseUrl (): string {
  if (process.env.DATABASE_URL === undefined && existsSync('.env')) process.loadEnvFile('.env')
  return process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL
}

async function withStorage<T> (fn: (storage: Storage, config: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const storage = await createStorage(config.database)
  try {
    return await fn(storage, config)
  } finally {
    await storage.close()
  }
}

async function withDb<T> (fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await createPrismaClient(parseDatabaseUrl(databaseUrl()))
  try {
    return await fn(db)
  } finally {
    await db.$disconnect()
  }
}

function need (value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new AdminError(`${what} is required (see codepair help)`)
  return value
}

export async function run (argv: string[]): Promise<number> {
  const { values: o, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  const [group, action, target] = positionals
  const json = o.json === true
  if (o.help === true || group === undefined || group === 'help') {
    process.stdout.write(USAGE)
    return group === undefined && o.help !== true ? 2 : 0
  }

  if (group === 'device') {
    if (o.client === undefined) throw new AdminError('--client is required (see codepair help)')
    if (process.env.ISSUER === undefined && existsSync('.env')) process.loadEnvFile('.env')
    const issuer = (o.issuer ?? process.env.ISSUER ?? `http://localhost:${process.env.PORT ?? 3000}`).replace(/\/+$/, '')
    try {
      return await runDeviceSimulator({
        issuer,
        clientId: o.client,
        clientSecret: process.env.CODEPAIR_CLIENT_SECRET,
        scope: o.scope ?? 'openid profile',
        resource: o.resource,
        tokenFile: o['token-file']
      })
    } catch (err) {
      process.stderr.write(`codepair device: ${(err as Error).message}\n`)
      return DEVICE_EXIT.error
    }
  }

  switch (`${group} ${action ?? ''}`.trim()) {
    case 'migrate': {
      const r = migrateDatabase(databaseUrl())
      if (!r.ok) throw new Error(`migration failed:\n${r.output}`)
      if (json) printRecord(true, '', { migrated: true })
      else process.stdout.write(/No pending migrations/i.test(r.output) ? 'Database is up to date.\n' : 'Migrations applied.\n')
      return 0
    }
    case 'client create': {
      const name = need(o.name, '--name')
      const secret = o['secret-stdin'] === true ? await readStdin() : undefined
      const c = await withDb(db => createClient(db, {
        name,
        confidential: o.confidential,
        scopes: o.scopes,
        defaultScopes: o['default-scopes'],
        grantTypes: o['grant-types'],
        id: o.id,
        secret
      }))
      const { clientSecret, id, ...rest } = c
      const record = { client_id: id, ...(clientSecret === undefined ? {} : { client_secret: clientSecret }), ...rest }
      printRecord(json, 'Client created', record,
        clientSecret !== undefined
          ? 'Store the client_secret now: it is shown only once.'
          : secret !== undefined && secret.length < SHORT_SECRET_CHARACTERS ? shortSecretNote([id]) : undefined)
      return 0
    }
    case 'client import': {
      const file = need(target, 'the JSON file to import (or - for stdin)')
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: Error) => { throw new AdminError(`cannot read ${file}: ${err.message}`) })
      let entries: unknown
      try {
        entries = JSON.parse(text)
      } catch (err) {
        throw new AdminError(`${file} is not JSON: ${(err as Error).message}`)
      }
      const { imported, shortSecrets } = await withDb(db => importClients(db, entries))
      printTable(json, imported, ['id', 'name', 'type', 'enabled', 'scopes'])
      if (!json) process.stdout.write(`${imported.length} client${imported.length === 1 ? '' : 's'} imported.\n${shortSecrets.length > 0 ? `\n${shortSecretNote(shortSecrets)}\n` : ''}`)
      return 0
    }
    case 'client list':
      printTable(json, await withDb(listClients), ['id', 'name', 'type', 'enabled', 'scopes'])
      return 0
    case 'client show':
      printRecord(json, 'Client', await withDb(db => showClient(db, need(target, 'client ID'))))
      return 0
    case 'client disable':
    case 'client enable': {
      const c = await withDb(db => setClientEnabled(db, need(target, 'client ID'), action === 'enable'))
      printRecord(json, `Client ${action}d`, c)
      return 0
    }
    case 'client rotate-secret': {
      const c = await withDb(db => rotateClientSecret(db, need(target, 'client ID')))
      printRecord(json, 'Secret rotated', { client_id: c.id, client_secret: c.clientSecret },
        'Store the client_secret now: it is shown only once. The old secret stops working within 5 seconds.')
      return 0
    }
    case 'user create': {
      const username = need(o.username, '--username')
      const password = await readPassword(o['password-stdin'] === true)
      const u = await withDb(db => createUser(db, { username, password, name: o.name, email: o.email }))
      printRecord(json, 'User created', u)
      return 0
    }
    case 'user list':
      printTable(json, await withDb(listUsers), ['username', 'name', 'email', 'enabled', 'createdAt'])
      return 0
    case 'user disable':
    case 'user enable': {
      const u = await withDb(db => setUserEnabled(db, need(target, 'username'), action === 'enable'))
      printRecord(json, `User ${action}d`, u)
      return 0
    }
    case 'user set-password': {
      const username = need(target, 'username')
      const password = await readPassword(o['password-stdin'] === true)
      const u = await withDb(db => setUserPassword(db, username, password))
      printRecord(json, 'Password changed (sessions and refresh tokens revoked)', u)
      return 0
    }
    case 'resource create': {
      const r = await withDb(db => createResourceServer(db, { identifier: need(o.identifier, '--identifier'), name: o.name, scopes: need(o.scopes, '--scopes') }))
      printRecord(json, 'Resource server created', r)
      return 0
    }
    case 'resource list':
      printTable(json, await withDb(listResourceServers), ['id', 'identifier', 'name', 'enabled', 'scopes'])
      return 0
    case 'resource show':
      printRecord(json, 'Resource server', await withDb(db => showResourceServer(db, need(target, 'resource ID or identifier'))))
      return 0
    case 'resource disable':
    case 'resource enable': {
      const r = await withDb(db => setResourceServerEnabled(db, need(target, 'resource ID or identifier'), action === 'enable'))
      printRecord(json, `Resource server ${action}d`, r)
      return 0
    }
    case 'keys list':
      printTable(json, await withStorage(async (storage, config) => await listKeys(config, storage)), ['kid', 'alg', 'state', 'activateAt', 'retireAt'])
      return 0
    case 'keys rotate': {
      const raw = o['publish-seconds']
      const publish = raw === undefined ? undefined : Number(raw)
      if (publish !== undefined && !(Number.isInteger(publish) && publish >= 0)) throw new AdminError('--publish-seconds must be a whole number of seconds')
      const keys = await withStorage(async (storage, config) => await rotateKeys(config, storage, publish))
      printTable(json, keys, ['kid', 'alg', 'state', 'activateAt', 'retireAt'])
      return 0
    }
    default:
      throw new AdminError(`unknown command "${positionals.join(' ')}"\n\n${USAGE}`)
  }
}

function shortSecretNote (ids: string[]): string {
  return `The secret of ${ids.join(', ')} is shorter than ${SHORT_SECRET_CHARACTERS} characters: it is kept so devices keep working, ` +
    'but it is weaker than the 256-bit secrets codepair makes. Run `codepair client rotate-secret ID` once the devices can take a new one.'
}

export async function main (argv: string[]): Promise<void> {
  try {
    process.exitCode = await run(argv)
  } catch (err) {
    const message = isNotMigrated(err) ? NOT_MIGRATED : err instanceof Error ? err.message : String(err)
    const json = argv.includes('--json')
    if (json) process.stderr.write(`${JSON.stringify({ error: message })}\n`)
    else process.stderr.write(`codepair: ${message}\n`)
    process.exitCode = err instanceof AdminError && err.code === 'NOT_FOUND' ? 3 : err instanceof AdminError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true ? 2 : 1
  }
}

