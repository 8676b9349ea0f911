/**
 * Caches rarely changing rows (clients, resource servers) read on every device request.
 * A change made elsewhere (the CLI, another instance) is seen within `ttlMs`; unknown
 * keys are cached too, and the map is bounded so random ids cannot grow memory.
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, { at: number, value: V }>()
  constructor (private readonly ttlMs: number, private readonly now: () => number = Date.now, private readonly maxEntries = 10000) {}

  async get (key: string, load: () => Promise<V>): Promise<V> {
    const t = this.now()
    const hit = this.#entries.get(key)
    if (hit !== undefined && t - hit.at < this.ttlMs) return hit.value
    const value = await load()
    if (this.#entries.size >= this.maxEntries) this.#entries.clear()
    this.#entries.set(key, { at: t, value })
    return value
  }
}
