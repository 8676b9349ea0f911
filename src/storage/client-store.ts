import type { ClientRecord, ClientStore, ClientType } from '../oauth/stores.js'
import { splitList } from '../oauth/scopes.js'
import type { Db } from './prisma.js'
import { TtlCache } from './ttl-cache.js'

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

/** Clients are read on every device authorization and poll: cached for 5 s (README). */
export class PrismaClientStore implements ClientStore {
  readonly #cache: TtlCache<ClientRecord | null>
  constructor (private readonly db: Db, ttlMs = 5000, now = Date.now) {
    this.#cache = new TtlCache(ttlMs, now)
  }

  async findClient (id: string): Promise<ClientRecord | null> {
    return await this.#cache.get(id, async () => {
      const row = await this.db.client.findUnique({ where: { id } })
      return row === null ? null : toClientRecord(row)
    })
  }
}
