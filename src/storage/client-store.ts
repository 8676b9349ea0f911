import type { ClientRecord, ClientStore, ClientType } from '../oauth/stores.js'
import { splitList } from '../oauth/scopes.js'
import type { Db } from './prisma.js'

type Row = Awaited<ReturnType<Db['client']['findUnique']>>

export function toClientRecord (row: NonNullable<Row>): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ClientType,
    secretHash: row.secretHash,
    grantTypes: splitList(row.grantTypes),
    scopes: splitList(row.scopes),
    defaultScopes: splitList(row.defaultScopes),
    enabled: row.enabled
  }
}

/**
 * Clients are read on every device authorization and poll but change rarely, so they
 * are cached for `ttlMs`. A change made with the CLI reaches a running server within
 * that time (documented in the README).
 */
export class PrismaClientStore implements ClientStore {
  readonly #cache = new Map<string, { at: number, value: ClientRecord | null }>()
  constructor (private readonly db: Db, private readonly ttlMs = 5000, private readonly now = Date.now) {}

  async findClient (id: string): Promise<ClientRecord | null> {
    const hit = this.#cache.get(id)
    const t = this.now()
    if (hit !== undefined && t - hit.at < this.ttlMs) return hit.value
    const row = await this.db.client.findUnique({ where: { id } })
    const value = row === null ? null : toClientRecord(row)
    if (this.#cache.size > 10000) this.#cache.clear() // unknown ids must not grow memory without bound
    this.#cache.set(id, { at: t, value })
    return value
  }
}
