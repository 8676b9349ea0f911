import type { ResourceServerRecord, ResourceServerStore } from '../oauth/stores.js'
import { splitList } from '../oauth/scopes.js'
import type { Db } from './prisma.js'
import { TtlCache } from './ttl-cache.js'

type Row = NonNullable<Awaited<ReturnType<Db['resourceServer']['findUnique']>>>

export const toResourceServerRecord = (r: Row): ResourceServerRecord =>
  ({ id: r.id, identifier: r.identifier, name: r.name, scopes: splitList(r.scopes), enabled: r.enabled })

/** Resource servers change rarely: cached like clients (5 s). */
export class PrismaResourceServerStore implements ResourceServerStore {
  readonly #cache: TtlCache<ResourceServerRecord | null>
  constructor (private readonly db: Db, ttlMs = 5000, now = Date.now) {
    this.#cache = new TtlCache(ttlMs, now)
  }

  async findResourceServer (identifier: string): Promise<ResourceServerRecord | null> {
    return await this.#cache.get(identifier, async () => {
      const row = await this.db.resourceServer.findUnique({ where: { identifier } })
      return row === null ? null : toResourceServerRecord(row)
    })
  }
}
