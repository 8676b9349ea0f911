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

export async function createClient (db: Db, input: CreateClientInput): Promise<CreatedClient> {
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
  const secret = input.confidential === true ? generateSecret() : undefined

  const row = await db.client.create({
    data: {
      id: randomBytes(16).toString('base64url'),
      name,
      type: secret === undefined ? 'public' : 'confidential',
      secretHash: secret === undefined ? null : sha256(secret),
      grantTypes: grantTypes.join(' '),
      scopes: scopes.join(' '),
      defaultScopes: defaults.join(' ')
    }
  })
  return secret === undefined ? view(row) : { ...view(row), clientSecret: secret }
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
