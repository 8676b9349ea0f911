// The hot path on PostgreSQL (hot-path.ts): device authorizations and polls that arrive
// together are batched into one statement each per turn of the event loop, as the
// SQLite path shares one commit among them. Per request, a statement costs the database
// server a parse/bind/execute, a commit and a network round trip; one multi-row statement
// pays those once for the whole batch (see README, "Performance").
import pg from 'pg'
import type { HotPath } from './hot-path.js'
import { COLUMNS, pollSql, toResult, type Row } from './hot-path-sql.js'
import { isStorageUnavailable } from './errors.js'

/** timestamp(3) without time zone, as Prisma writes it: UTC wall-clock time. */
const pgTimestamp = (ms: number) => new Date(ms).toISOString().replace('Z', '')

/**
 * How many batch statements of one kind may run at once. While they are all in flight,
 * new requests wait for the next batch instead of taking a connection each, so under
 * load batches grow with the number of requests in flight (and the database's work per
 * request falls), while a lone request still goes out at the next turn of the loop.
 */
const MAX_IN_FLIGHT = 2
/** Rows per statement: bounds the arrays sent and the rows one statement locks. */
const MAX_BATCH = 500
/** A deadlock between two batches (40P01) rolls back one of them whole: it is run again. */
const DEADLOCK_RETRIES = 3

interface Pending<I, O> { item: I, resolve: (v: O) => void, reject: (e: unknown) => void }

/**
 * Collects calls made in the same turn of the event loop and runs them as one batch.
 * `run` answers every item of a batch in order (a value, or an Error for that item
 * alone). `key` keeps two calls on one row out of the same batch: the second waits for
 * the next batch, so it sees the first's change exactly as it would one statement later.
 * A batch that fails as a whole for a reason other than the database being unreachable
 * is run again one item at a time, so a bad row fails only its own caller.
 */
function batcher<I, O> (run: (items: I[]) => Promise<Array<O | Error>>, key?: (item: I) => string) {
  let queue: Array<Pending<I, O>> = []
  let inFlight = 0
  let scheduled = false

  const settle = (batch: Array<Pending<I, O>>, results: Array<O | Error>) => {
    batch.forEach((p, i) => {
      const r = results[i]
      if (r instanceof Error) p.reject(r)
      else p.resolve(r as O)
    })
  }

  const runOnce = async (batch: Array<Pending<I, O>>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run(batch.map(p => p.item))
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw err
      }
    }
  }

  const flush = () => {
    scheduled = false
    if (queue.length === 0 || inFlight >= MAX_IN_FLIGHT) return
    const batch: Array<Pending<I, O>> = []
    const later: Array<Pending<I, O>> = []
    const seen = new Set<string>()
    for (const p of queue) {
      const k = key?.(p.item)
      if (batch.length >= MAX_BATCH || (k !== undefined && seen.has(k))) { later.push(p); continue }
      if (k !== undefined) seen.add(k)
      batch.push(p)
    }
    queue = later
    inFlight++
    runOnce(batch).then(results => { settle(batch, results) }, async err => {
      if (batch.length === 1 || isStorageUnavailable(err)) {
        for (const p of batch) p.reject(err)
        return
      }
      for (const p of batch) {
        try {
          settle([p], await runOnce([p]))
        } catch (e) {
          p.reject(e)
        }
      }
    }).finally(() => {
      inFlight--
      if (queue.length > 0) schedule()
    })
    if (queue.length > 0) schedule()
  }

  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  return async (item: I): Promise<O> => await new Promise<O>((resolve, reject) => {
    queue.push({ item, resolve, reject })
    schedule()
  })
}

interface InsertItem { values: unknown[] }
interface PollItem { hash: string, clientId: string, now: number, leewayMs: number, step: number, nonce: string }

/**
 * One INSERT for the batch, its rows as arrays (one prepared statement whatever the batch
 * size). ON CONFLICT DO NOTHING instead of an error: a taken user code (or a duplicate in
 * the same batch) is simply not returned, and only that caller hears 'duplicate'.
 */
const INSERT_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'timestamp(3)', 'timestamp(3)', 'int4', 'text', 'text']
const insertText = `INSERT INTO "DeviceAuthorization" (${COLUMNS})
  SELECT * FROM unnest(${INSERT_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})
  ON CONFLICT DO NOTHING
  RETURNING "id"`

/**
 * The poll statement of hot-path-sql.ts over a batch: each input row (p) updates its own
 * code, with its own time and nonce, and the returned `ord` says whose row came back. A
 * code appears at most once per batch (batcher's key), so each row is updated once,
 * exactly as by one single-row statement; the row lock still orders polls of one code
 * from other batches, connections or instances. Rows are sent sorted by hash so that
 * concurrent batches lock shared codes in the same order (a deadlock that slips through
 * is retried by the batcher).
 */
const pollText = pollSql(
  '("lastPollAt" IS NULL OR p.now - "lastPollAt" >= make_interval(secs => "intervalSeconds" - p.leeway / 1000))',
  name => `p.${name}`,
  'FROM unnest($1::text[], $2::text[], $3::timestamp(3)[], $4::float8[], $5::int4[], $6::text[], $7::int4[]) AS p(hash, client, now, leeway, step, nonce, ord)\n    '
).replace('"decidedAt"', '(extract(epoch from "decidedAt") * 1000)::float8 AS "decidedAt", p.ord AS "ord"')

export function postgresHotPath (url: string): HotPath {
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  pool.on('error', () => {}) // an idle client dropped by the server: the pool replaces it

  const insert = batcher<InsertItem, 'ok' | 'duplicate'>(async items => {
    const columns = INSERT_TYPES.map((_, c) => items.map(it => it.values[c]))
    const res = await pool.query<{ id: string }>({ name: 'codepair_insert_device_authorizations', text: insertText, values: columns })
    const inserted = new Set(res.rows.map(r => r.id))
    return items.map(it => inserted.has(it.values[0] as string) ? 'ok' : 'duplicate')
  })

  const poll = batcher<PollItem, Row | undefined>(async items => {
    const order = items.map((_, i) => i).sort((a, b) => items[a]!.hash < items[b]!.hash ? -1 : 1)
    const col = <K extends keyof PollItem>(k: K) => order.map(i => items[i]![k])
    const res = await pool.query<Row & { ord: number }>({
      name: 'codepair_poll_batch',
      text: pollText,
      values: [col('hash'), col('clientId'), order.map(i => pgTimestamp(items[i]!.now)), col('leewayMs'), col('step'), col('nonce'), order]
    })
    const rows: Array<Row | undefined> = items.map(() => undefined)
    for (const row of res.rows) rows[row.ord] = row
    return rows
  }, item => item.hash)

  return {
    driver: { dialect: 'postgresql', pool },
    async insertDeviceAuthorization (r) {
      return await insert({
        values: [r.id, r.deviceCodeHash, r.userCodeHash, r.clientId, r.scope, r.resource, 'pending', pgTimestamp(r.createdAt.getTime()), pgTimestamp(r.expiresAt.getTime()), r.intervalSeconds, r.requestIp, r.userAgent]
      })
    },
    async poll (hash, clientId, now, leewayMs, step, nonce) {
      return toResult(await poll({ hash, clientId, now, leewayMs, step, nonce }), nonce)
    },
    async close () { await pool.end() }
  }
}
