// Client administration (used by the CLI). Secrets are generated here, shown once and
// stored as SHA-256 hashes.
import { randomBytes } from 'node:crypto'
import { generateSecret, sha256 } from '../oauth/codes.js'
import { DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT } from '../oauth/grant-types.js'
import { parseScope, splitList } from '../oauth/scopes.js'
import type { ClientRecord } from '../oauth/stores.js'
import { toClientRecord } from '../storage/client-store.js'
import type { Db } from '../storage/prisma.js'
import { AdminError } from './errors.js'
import { isUniqueViolation } from '../storage/errors.js'

const GRANT_ALIASES: Record<string, string> = {
  device_code: DEVICE_CODE_GRANT,
  [DEVICE_CODE_GRANT]: DEVICE_CODE_GRANT,
  refresh_token: REFRESH_TOKEN_GRANT
}

export const DEFAULT_CLIENT_SCOPES = 'openid profile email offline_access'

export interface CreateClientInput {
  name: string
  confidential?: boolean
  scopes?: string
  defaultScopes?: string
  grantTypes?: string
  /** An existing client id to keep (a fleet moving from another server); generated when absent. */
  id?: string
  /** An existing secret to keep (makes the client confidential); generated for --confidential when absent. */
  secret?: string
}

export interface ClientView extends Omit<ClientRecord, 'secretHash'> { createdAt: string }
export interface CreatedClient extends ClientView { clientSecret?: string }

function view (row: Parameters<typeof toClientRecord>[0]): ClientView {
  const { secretHash: _hidden, ...rest } = toClientRecord(row)
  return { ...rest, createdAt: row.createdAt.toISOString() }
}

function parseGrantTypes (value: string): string[] {
  const out = splitList(value).map(g => {
    const known = GRANT_ALIASES[g]
    if (known === undefined) throw new AdminError(`unknown grant type "${g}"; use device_code and/or refresh_token`)
    return known
  })
  if (!out.includes(DEVICE_CODE_GRANT)) throw new AdminError('a codepair client needs the device_code grant type')
  return [...new Set(out)]
}

function parseScopes (value: string, what: string): string[] {
  try {
    return parseScope(value.replace(/,/g, ' '))
  } catch {
    throw new AdminError(`${what}: scopes are words without spaces, quotes or backslashes`)
  }
}

/**
 * Client ids travel in HTTP Basic (RFC 6749 §2.3.1), where a colon ends the id, and in
 * forms; visible ASCII without the colon keeps every existing id usable both ways.
 */
const CLIENT_ID = /^[\x21-\x39\x3B-\x7E]{1,128}$/
/** Below this, a kept secret is weaker than what codepair generates (256 bits); kept, with a warning. */
export const SHORT_SECRET_CHARACTERS = 22

/**
 * 128 random bits, base64url. One id in 64 would begin with "-", which every CLI command
 * that takes the id (`client update ID`) reads as an option: draw again (a loop that ends
 * after about 1.02 draws, and still at least 122 bits).
 */
export function generateClientId (): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

function checkId (id: string): string {
  if (!CLIENT_ID.test(id)) throw new AdminError(`client id "${id.slice(0, 40)}": 1 to 128 visible ASCII characters, no colon or spaces`)
  return id
}

function checkSecret (secret: string, id: string): string {
  if (secret === '' || secret.length > 512 || /[\x00-\x1F\x7F]/.test(secret)) {
    throw new AdminError(`client "${id}": a secret is 1 to 512 characters without control characters`)
  }
  return secret
}

/** Validates an input into the row to store and the secret to show (generated ones only). */
function prepareClient (input: CreateClientInput) {
  const name = input.name.trim()
  if (name === '' || name.length > 100) throw new AdminError('--name is required (1 to 100 characters)')
  const scopes = parseScopes(input.scopes ?? DEFAULT_CLIENT_SCOPES, '--scopes')
  if (scopes.length === 0) throw new AdminError('--scopes must name at least one scope')
  const defaults = input.defaultScopes === undefined
    ? scopes.filter(s => s !== 'offline_access')
    : parseScopes(input.defaultScopes, '--default-scopes')
  const outside = defaults.filter(s => !scopes.includes(s))
  if (outside.length > 0) throw new AdminError(`--default-scopes must be among --scopes (not allowed: ${outside.join(' ')})`)
  const grantTypes = parseGrantTypes(input.grantTypes ?? 'device_code refresh_token')
  const id = input.id === undefined ? generateClientId() : checkId(input.id)
  const kept = input.secret === undefined ? undefined : checkSecret(input.secret, id)
  const generated = kept === undefined && input.confidential === true ? generateSecret() : undefined
  const secret = kept ?? generated
  const data = {
    id,
    name,
    type: secret === undefined ? 'public' : 'confidential',
    secretHash: secret === undefined ? null : sha256(secret),
    grantTypes: grantTypes.join(' '),
    scopes: scopes.join(' '),
    defaultScopes: defaults.join(' ')
  }
  return { data, generated }
}

async function refuseTaken (db: Db, ids: string[]): Promise<void> {
  const taken = await db.client.findMany({ where: { id: { in: ids } }, select: { id: true } })
  if (taken.length > 0) throw new AdminError(`client id already in use: ${taken.map(c => c.id).join(', ')}`, 'CONFLICT')
}

async function uniquely<T> (ids: string[], write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if (isUniqueViolation(err)) throw new AdminError(`client id already in use: ${ids.join(', ')}`, 'CONFLICT')
    throw err
  }
}

export async function createClient (db: Db, input: CreateClientInput): Promise<CreatedClient> {
  const { data, generated } = prepareClient(input)
  const row = await uniquely([data.id], async () => await db.client.create({ data }))
  return generated === undefined ? view(row) : { ...view(row), clientSecret: generated }
}

/**
 * The fields of one client in an import file: codepair's names, and the columns of
 * flask-oauth2-devices' Client model as a database export gives them (its
 * `_default_scopes` are both the scopes and the defaults; redirect URIs and the owning
 * user have no meaning in the device flow and are ignored).
 */
const IMPORT_FIELDS = new Set(['client_id', 'client_secret', 'name', 'scopes', 'default_scopes', 'grant_types', '_default_scopes', '_redirect_uris', 'user_id'])

function importInput (entry: unknown, index: number): CreateClientInput {
  const where = `entry ${index + 1}`
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new AdminError(`${where}: expected an object with client_id`)
  const e = entry as Record<string, unknown>
  const unknown = Object.keys(e).filter(k => !IMPORT_FIELDS.has(k))
  if (unknown.length > 0) throw new AdminError(`${where}: unknown field ${unknown.join(', ')} (known: ${[...IMPORT_FIELDS].join(', ')})`)
  const text = (k: string): string | undefined => {
    const v = e[k]
    if (v === undefined || v === null) return undefined
    if (typeof v === 'number') return String(v) // a numeric id in a database export
    if (typeof v !== 'string') throw new AdminError(`${where}: ${k} must be a string`)
    return v
  }
  const id = text('client_id')
  if (id === undefined) throw new AdminError(`${where}: client_id is required`)
  const flaskScopes = text('_default_scopes')
  return {
    id,
    secret: text('client_secret'),
    name: text('name') ?? id.slice(0, 100),
    scopes: text('scopes') ?? (flaskScopes?.trim() === '' ? undefined : flaskScopes),
    defaultScopes: text('default_scopes') ?? (flaskScopes?.trim() === '' ? undefined : flaskScopes),
    grantTypes: text('grant_types')
  }
}

/**
 * Creates every client of `entries` (a parsed JSON array) with its id and secret, or
 * none: all are checked first, and they are written in one transaction.
 */
export async function importClients (db: Db, entries: unknown): Promise<{ imported: ClientView[], shortSecrets: string[] }> {
  if (!Array.isArray(entries)) throw new AdminError('the import file must hold a JSON array of clients')
  const shortSecrets: string[] = []
  const prepared = entries.map((entry, i) => {
    try {
      const input = importInput(entry, i)
      const { data } = prepareClient(input)
      if (input.secret !== undefined && input.secret.length < SHORT_SECRET_CHARACTERS) shortSecrets.push(data.id)
      return data
    } catch (err) {
      if (err instanceof AdminError && !err.message.startsWith('entry ')) throw new AdminError(`entry ${i + 1}: ${err.message}`)
      throw err
    }
  })
  const ids = prepared.map(d => d.id)
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i)
  if (repeated.length > 0) throw new AdminError(`the file names a client id twice: ${[...new Set(repeated)].join(', ')}`)
  if (ids.length === 0) return { imported: [], shortSecrets }
  await refuseTaken(db, ids)
  const rows = await uniquely(ids, async () => await db.$transaction(prepared.map(data => db.client.create({ data }))))
  return { imported: rows.map(view), shortSecrets }
}

export async function listClients (db: Db): Promise<ClientView[]> {
  return (await db.client.findMany({ orderBy: { createdAt: 'asc' } })).map(view)
}

export async function showClient (db: Db, id: string): Promise<ClientView> {
  const row = await db.client.findUnique({ where: { id } })
  if (row === null) throw new AdminError(`no client with id "${id}"`, 'NOT_FOUND')
  return view(row)
}

export async function setClientEnabled (db: Db, id: string, enabled: boolean): Promise<ClientView> {
  await showClient(db, id)
  return view(await db.client.update({ where: { id }, data: { enabled } }))
}

/** A new secret replaces the old one at once; the old one stops working within the client cache time (5 s). */
export async function rotateClientSecret (db: Db, id: string): Promise<CreatedClient> {
  const client = await showClient(db, id)
  if (client.type !== 'confidential') throw new AdminError(`client "${id}" is public and has no secret`, 'CONFLICT')
  const secret = generateSecret()
  const row = await db.client.update({ where: { id }, data: { secretHash: sha256(secret) } })
  return { ...view(row), clientSecret: secret }
}
