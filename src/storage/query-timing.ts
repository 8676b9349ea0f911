// How long the database takes, as the code waiting for it sees it, for the metrics
// (src/metrics). Two places reach the database: Prisma, through its driver adapter
// (wrapped here so every statement Prisma sends is timed, inside transactions too), and
// the hot path (hot-path.ts; timed per call, so a poll's time includes the wait for
// its group commit). Nothing is recorded until someone listens.
import type { HotPath } from './hot-path.js'

/** `layer`: prisma or hot_path; `operation`: query/execute (Prisma), insert/poll (hot path). */
export type QueryListener = (layer: 'prisma' | 'hot_path', operation: string, seconds: number, failed: boolean) => void

/** Connections of a pg pool; undefined on SQLite (one connection, no pool). */
export interface PoolStats { total: number, idle: number, waiting: number }

export class QueryTiming {
  readonly #listeners = new Set<QueryListener>()
  /** The pg pools in use, by name; filled when Prisma connects (PostgreSQL only). */
  readonly pools = new Map<string, () => PoolStats>()

  /** Adds a listener; the returned function removes it (an app closing). */
  listen (listener: QueryListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  get active (): boolean { return this.#listeners.size > 0 }

  async time<T> (layer: 'prisma' | 'hot_path', operation: string, run: () => Promise<T>): Promise<T> {
    if (this.#listeners.size === 0) return await run()
    const start = process.hrtime.bigint()
    let failed = true
    try {
      const result = await run()
      failed = false
      return result
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      for (const l of this.#listeners) l(layer, operation, seconds, failed)
    }
  }
}

interface Queryable {
  queryRaw (query: unknown): Promise<unknown>
  executeRaw (query: unknown): Promise<number>
}
interface Adapter extends Queryable {
  startTransaction (...args: unknown[]): Promise<Queryable>
  underlyingDriver?: () => unknown
}
interface AdapterFactory { connect (): Promise<Adapter> }

/** A pg.Pool as far as its counters go (the adapter's own pool, read on each scrape). */
function poolOf (driver: unknown): (() => PoolStats) | undefined {
  const p = driver as { totalCount?: unknown, idleCount?: unknown, waitingCount?: unknown } | null
  if (p === null || typeof p !== 'object' || typeof p.totalCount !== 'number') return undefined
  return () => ({ total: p.totalCount as number, idle: p.idleCount as number, waiting: p.waitingCount as number })
}

function timedQueryable<Q extends Queryable> (q: Q, timing: QueryTiming): Q {
  return new Proxy(q, {
    get (target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      if (prop === 'queryRaw' || prop === 'executeRaw') {
        const operation = prop === 'queryRaw' ? 'query' : 'execute'
        return async (query: unknown) => await timing.time('prisma', operation, async () => await (value as (q: unknown) => Promise<unknown>).call(target, query))
      }
      if (prop === 'startTransaction') {
        return async (...args: unknown[]) => timedQueryable(await (value as (...a: unknown[]) => Promise<Queryable>).apply(target, args), timing)
      }
      return (value as (...a: unknown[]) => unknown).bind(target)
    }
  })
}

/** The adapter factory, its connections timed; a pg adapter's pool is registered as "prisma". */
export function timedAdapterFactory<F extends object> (factory: F, timing: QueryTiming): F {
  return new Proxy(factory, {
    get (target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (prop === 'connect' && typeof value === 'function') {
        return async () => {
          const adapter = await (value as AdapterFactory['connect']).call(target)
          const stats = poolOf(adapter.underlyingDriver?.())
          if (stats !== undefined) timing.pools.set('prisma', stats)
          return timedQueryable(adapter, timing)
        }
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    }
  })
}

/** The hot path with its two statements timed (a Proxy: whatever else it offers passes through). */
export function timedHotPath (hot: HotPath, timing: QueryTiming): HotPath {
  if (hot.driver.dialect === 'postgresql') {
    const stats = poolOf(hot.driver.pool)
    if (stats !== undefined) timing.pools.set('hot_path', stats)
  }
  const timed: Partial<Record<keyof HotPath, string>> = { insertDeviceAuthorization: 'insert', poll: 'poll' }
  return new Proxy(hot, {
    get (target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      const operation = timed[prop as keyof HotPath]
      if (operation === undefined) return (value as (...a: unknown[]) => unknown).bind(target)
      return async (...args: unknown[]) => await timing.time('hot_path', operation, async () => await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args))
    }
  })
}
