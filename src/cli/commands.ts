// The administration commands behind the `codepair` bin (src/cli/main.ts).
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createClient, listClients, rotateClientSecret, setClientEnabled, showClient } from '../admin/clients.js'
import { AdminError } from '../admin/errors.js'
import { listKeys, rotateKeys } from '../admin/keys.js'
import { createResourceServer, listResourceServers, setResourceServerEnabled, showResourceServer } from '../admin/resources.js'
import { createUser, listUsers, setUserEnabled, setUserPassword } from '../admin/users.js'
import { createWebhook, listDeliveries, listWebhooks, setWebhookEnabled } from '../admin/webhooks.js'
import { createEvents } from '../events/setup.js'
import type { EventBus } from '../events/bus.js'
import { EVENT_TYPES } from '../events/types.js'
import { resolveSecrets } from '../secrets.js'
import { loadConfig } from '../config.js'
import { createStorage, type Storage } from '../storage/index.js'
import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from '../storage/database-url.js'
import { migrateDatabase } from '../storage/migrate.js'
import { createPrismaClient, type Db } from '../storage/prisma.js'
import { printRecord, printTable } from './output.js'
import { DEVICE_EXIT, runDeviceSimulator } from './device-simulator.js'
import { readPassword } from './password-input.js'
import { isNotMigrated, NOT_MIGRATED } from '../storage/errors.js'

export const USAGE = `Usage: codepair <command> [options]

Database
  migrate                              apply pending database migrations

Clients
  client create --name NAME [--confidential] [--scopes "openid profile offline_access"]
                [--default-scopes "openid profile"] [--grant-types "device_code refresh_token"]
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

Webhooks (events signed per Standard Webhooks, delivered from the outbox with retries)
  webhook create --url URL --events "device.approved device.tokens_issued" [--description TEXT]
                                       the signing secret (whsec_…) is shown once; --events * for all
  webhook list
  webhook disable ID | webhook enable ID
  webhook deliveries ID [--status pending|delivered|dead] [--limit N]
                                       newest first (default 50); dead ones ran out of retries
  Events: ${EVENT_TYPES.join(' ')}

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
  username: { type: 'string' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  identifier: { type: 'string' },
  client: { type: 'string' },
  scope: { type: 'string' },
  resource: { type: 'string' },
  issuer: { type: 'string' },
  'token-file': { type: 'string' },
  'publish-seconds': { type: 'string' },
  url: { type: 'string' },
  events: { type: 'string' },
  description: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' }
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

/**
 * Commands whose change is an event (user create, keys rotate): hooks of HOOKS_MODULE run
 * in this process and the webhooks' outbox rows commit with the change; the server's
 * worker delivers them. Hooks still running are waited for (HOOK_TIMEOUT_MS at most).
 */
async function withEvents<T> (fn: (storage: Storage, config: ReturnType<typeof loadConfig>, events: EventBus) => Promise<T>): Promise<T> {
  return await withStorage(async (storage, config) => {
    const secrets = await resolveSecrets(config, storage)
    const say = (level: string) => (obj: object, msg?: string) => { process.stderr.write(`codepair: ${level}: ${msg ?? ''} ${JSON.stringify(obj, (k, v) => k === 'err' && v instanceof Error ? v.message : v)}\n`) }
    const events = await createEvents(config, storage, secrets, { info: () => {}, warn: say('warning'), error: say('error') }, Date.now)
    try {
      return await fn(storage, config, events.bus)
    } finally {
      await events.stop()
    }
  })
}

function count (raw: string | undefined, what: string, dflt: number): number {
  if (raw === undefined) return dflt
  const n = Number(raw)
  if (!(Number.isInteger(n) && n >= 1 && n <= 1000)) throw new AdminError(`${what} must be a whole number from 1 to 1000`)
  return n
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
      const c = await withDb(db => createClient(db, {
        name: need(o.name, '--name'),
        confidential: o.confidential,
        scopes: o.scopes,
        defaultScopes: o['default-scopes'],
        grantTypes: o['grant-types']
      }))
      const { clientSecret, id, ...rest } = c
      const record = { client_id: id, ...(clientSecret === undefined ? {} : { client_secret: clientSecret }), ...rest }
      printRecord(json, 'Client created', record,
        clientSecret === undefined ? undefined : 'Store the client_secret now: it is shown only once.')
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
      const u = await withEvents(async (storage, _config, events) => await createUser(storage.db, { username, password, name: o.name, email: o.email }, events))
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
      const keys = await withEvents(async (storage, config, events) => await rotateKeys(config, storage, publish, Date.now, events))
      printTable(json, keys, ['kid', 'alg', 'state', 'activateAt', 'retireAt'])
      return 0
    }
    case 'webhook create': {
      const w = await withStorage(async (storage, config) => await createWebhook(storage.db, (await resolveSecrets(config, storage)).webhookSecretKey, {
        url: need(o.url, '--url'), events: need(o.events, '--events'), description: o.description
      }, config.mode === 'production'))
      printRecord(json, 'Webhook created', w, 'Store the secret now: it is shown only once. Verify every delivery with it (Standard Webhooks).')
      return 0
    }
    case 'webhook list':
      printTable(json, await withDb(listWebhooks), ['id', 'url', 'enabled', 'events'])
      return 0
    case 'webhook disable':
    case 'webhook enable': {
      const w = await withDb(db => setWebhookEnabled(db, need(target, 'webhook ID'), action === 'enable'))
      printRecord(json, `Webhook ${action}d`, w)
      return 0
    }
    case 'webhook deliveries': {
      const id = need(target, 'webhook ID')
      const limit = count(o.limit, '--limit', 50)
      printTable(json, await withDb(db => listDeliveries(db, id, o.status, limit)), ['delivery', 'type', 'status', 'attempts', 'lastStatus', 'lastError', 'createdAt', 'nextAttemptAt'])
      return 0
    }
    default:
      throw new AdminError(`unknown command "${positionals.join(' ')}"\n\n${USAGE}`)
  }
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

