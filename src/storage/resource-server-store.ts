import type { ResourceServerRecord, ResourceServerStore } from '../oauth/stores.js'
import { splitList } from '../oauth/scopes.js'
import type { Db } from './prisma.js'

type Row = NonNullable<Awaited<ReturnType<Db['resourceServer']['findUnique']>>>

export const toResourceServerRecord = (r: Row): ResourceServerRecord =>
  ({ id: r.id, identifier: r.identifier, name: r.name, scopes: splitList(r.scopes), enabled: r.enabled })

/** Resource servers change rarely: cached like clients (5 s). */
export class PrismaResourceServerStore implements ResourceServerStore {
  readonly #cache = new Map<string, { at: number, value: ResourceServerRecord | null }>()
  constructor (private readonly db: Db, private readonly ttlMs = 5000, private readonly now = Date.now) {}

  async findResourceServer (identifier: string): Promise<ResourceServerRecord | null> {
    const hit = this.#cache.get(identifier)
    const t = this.now()
    if (hit !== undefined && t - hit.at < this.ttlMs) return hit.value
    const row = await this.db.resourceServer.findUnique({ where: { identifier } })
    const value = row === null ? null : toResourceServerRecord(row)
    if (this.#cache.size > 10000) this.#cache.clear()
    this.#cache.set(identifier, { at: t, value })
    return value
  }
}
