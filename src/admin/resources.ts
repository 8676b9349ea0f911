// Resource server (API) administration: the audiences tokens can be issued for (RFC 8707).
import { randomBytes } from 'node:crypto'
import { IDENTITY_SCOPES } from '../oauth/resources.js'
import { parseScope } from '../oauth/scopes.js'
import type { ResourceServerRecord } from '../oauth/stores.js'
import { isUniqueViolation } from '../storage/errors.js'
import type { Db } from '../storage/prisma.js'
import { toResourceServerRecord } from '../storage/resource-server-store.js'
import { AdminError } from './errors.js'

export interface CreateResourceInput { identifier: string, name?: string, scopes: string }

export async function createResourceServer (db: Db, input: CreateResourceInput): Promise<ResourceServerRecord> {
  const identifier = input.identifier.trim()
  let url: URL
  try { url = new URL(identifier) } catch { throw new AdminError('--identifier must be an absolute URI such as https://api.example.com') }
  if (url.hash !== '' || identifier.includes('#')) throw new AdminError('--identifier must not have a fragment (RFC 8707 §2)')
  let scopes: string[]
  try { scopes = parseScope(input.scopes.replace(/,/g, ' ')) } catch { throw new AdminError('--scopes: scopes are words without spaces, quotes or backslashes') }
  if (scopes.length === 0) throw new AdminError('--scopes must name at least one scope the API accepts')
  const identity = scopes.filter(s => IDENTITY_SCOPES.includes(s))
  if (identity.length > 0) throw new AdminError(`--scopes: ${identity.join(' ')} are identity scopes, valid for every API already`)
  try {
    const row = await db.resourceServer.create({
      data: { id: randomBytes(12).toString('base64url'), identifier, name: input.name?.trim() || url.host, scopes: scopes.join(' ') }
    })
    return toResourceServerRecord(row)
  } catch (err) {
    if (isUniqueViolation(err)) throw new AdminError(`a resource server "${identifier}" already exists`, 'CONFLICT')
    throw err
  }
}

export async function listResourceServers (db: Db): Promise<ResourceServerRecord[]> {
  return (await db.resourceServer.findMany({ orderBy: { createdAt: 'asc' } })).map(toResourceServerRecord)
}

async function find (db: Db, idOrIdentifier: string) {
  const row = await db.resourceServer.findFirst({ where: { OR: [{ id: idOrIdentifier }, { identifier: idOrIdentifier }] } })
  if (row === null) throw new AdminError(`no resource server "${idOrIdentifier}"`, 'NOT_FOUND')
  return row
}

export async function showResourceServer (db: Db, idOrIdentifier: string): Promise<ResourceServerRecord> {
  return toResourceServerRecord(await find(db, idOrIdentifier))
}

export async function setResourceServerEnabled (db: Db, idOrIdentifier: string, enabled: boolean): Promise<ResourceServerRecord> {
  const row = await find(db, idOrIdentifier)
  return toResourceServerRecord(await db.resourceServer.update({ where: { id: row.id }, data: { enabled } }))
}
