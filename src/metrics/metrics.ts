// The Prometheus registry of one app and what feeds it (README "Metrics"). Labels hold
// only fixed vocabularies — route patterns, methods, status codes, RFC error codes, step
// names — never a raw URL, a code, a token, a client id or an address, so no secret
// can reach a label and the number of series stays bounded.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CodepairEvent, EventType } from '../events/types.js'
import type { QueryTiming } from '../storage/query-timing.js'

/** The device flow, step by step (RFC 8628): where codes are lost shows between two steps. */
export type DeviceFlowStep = 'issued' | 'approved' | 'denied' | 'expired' | 'redeemed' | 'replayed'

const FUNNEL: Partial<Record<EventType, DeviceFlowStep>> = {
  'device.code_issued': 'issued',
  'device.approved': 'approved',
  'device.denied': 'denied',
  'device.tokens_issued': 'redeemed',
  'device.code_reused': 'replayed'
}

/** Seconds; from a cached poll (~0.1 ms) to a password hash (argon2id, tens of ms) and beyond. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const DB_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]

// Process metrics (CPU, memory, event-loop lag, GC) belong to the process, not to one
// app: collected once, in their own registry, and appended to every app's output.
let processRegistry: Registry | undefined
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

export interface MetricsSources {
  /** Live device codes, counted on each scrape (one COUNT on the (status, expiresAt) index). */
  liveCodes: () => Promise<number>
  maxLiveCodes: number
  timing: QueryTiming
}

export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Histogram<'method' | 'route' | 'status'>
  readonly #requestChildren = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>()
  readonly #deviceFlow: Counter<'step'>
  readonly #oauthErrors: Counter<'route' | 'error'>
  readonly #guessRefusals: Counter
  readonly #guessLimited: Counter
  readonly #refreshReuse: Counter
  readonly #signInFailures: Counter<'reason'>
  readonly #dbQueries: Histogram<'layer' | 'operation'>
  readonly #dbErrors: Counter<'layer' | 'operation'>
  readonly #purgeRuns: Counter<'result'>
  readonly #purgedRows: Counter
  readonly #stopTiming: () => void

  constructor (sources: MetricsSources) {
    const registers = [this.registry]
    this.#requests = new Histogram({
      name: 'codepair_http_request_duration_seconds',
      help: 'HTTP requests by route pattern (never the raw URL), method and status code; _count is the request count.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers
    })
    this.#deviceFlow = new Counter({
      name: 'codepair_device_flow_total',
      help: 'Device flow steps: issued (device authorization), approved, denied, expired (a poll answered expired_token), redeemed (tokens issued), replayed (a used device_code came back and what it issued was revoked).',
      labelNames: ['step'],
      registers
    })
    for (const step of ['issued', 'approved', 'denied', 'expired', 'redeemed', 'replayed'] satisfies DeviceFlowStep[]) this.#deviceFlow.inc({ step }, 0)
    this.#oauthErrors = new Counter({
      name: 'codepair_oauth_errors_total',
      help: 'OAuth error answers (RFC 6749 §5.2, RFC 8628 §3.5) by route pattern and error code, e.g. slow_down and authorization_pending at /oauth/token.',
      labelNames: ['route', 'error'],
      registers
    })
    this.#guessRefusals = new Counter({
      name: 'codepair_user_code_guess_refusals_total',
      help: 'Code entries refused because a guessing budget was exhausted (RFC 8628 §5.1), answered 429.',
      registers
    })
    this.#guessLimited = new Counter({
      name: 'codepair_user_code_guessing_limited_total',
      help: 'Wrong user codes that exhausted a guessing budget (per session, per address or global) and paused code entry.',
      registers
    })
    this.#refreshReuse = new Counter({
      name: 'codepair_refresh_reuse_detected_total',
      help: 'Rotated refresh tokens presented again: the family and its grant were revoked (RFC 9700 §4.14).',
      registers
    })
    this.#signInFailures = new Counter({
      name: 'codepair_sign_in_failures_total',
      help: 'Failed sign-ins on the pages: invalid (wrong username or password) or locked (throttled).',
      labelNames: ['reason'],
      registers
    })
    this.#dbQueries = new Histogram({
      name: 'codepair_db_query_duration_seconds',
      help: 'Database statements as the caller waits for them: layer prisma (query/execute) or hot_path (insert/poll, including the wait for a group commit).',
      labelNames: ['layer', 'operation'],
      buckets: DB_BUCKETS,
      registers
    })
    this.#dbErrors = new Counter({
      name: 'codepair_db_query_errors_total',
      help: 'Database statements that failed, by layer and operation.',
      labelNames: ['layer', 'operation'],
      registers
    })
    new Gauge({
      name: 'codepair_db_pool_connections',
      help: 'PostgreSQL pool connections by pool (prisma, hot_path) and state: total, idle, waiting (requests queued for a connection). Absent on SQLite.',
      labelNames: ['pool', 'state'],
      registers,
      collect () {
        for (const [pool, stats] of sources.timing.pools) {
          const s = stats()
          this.set({ pool, state: 'total' }, s.total)
          this.set({ pool, state: 'idle' }, s.idle)
          this.set({ pool, state: 'waiting' }, s.waiting)
        }
      }
    })
    new Gauge({
      name: 'codepair_live_device_codes',
      help: 'Device codes pending or approved and not expired (read at scrape time).',
      registers,
      async collect () {
        // The database down must not take the other metrics with it: NaN says "unknown".
        this.set(await sources.liveCodes().catch(() => Number.NaN))
      }
    })
    new Gauge({
      name: 'codepair_live_device_codes_limit',
      help: 'MAX_LIVE_CODES: new device authorizations get 503 beyond it.',
      registers
    }).set(sources.maxLiveCodes)
    this.#purgeRuns = new Counter({
      name: 'codepair_purge_runs_total',
      help: 'Runs of the background purge of expired rows, by result (ok, failed).',
      labelNames: ['result'],
      registers
    })
    this.#purgeRuns.inc({ result: 'ok' }, 0)
    this.#purgeRuns.inc({ result: 'failed' }, 0)
    this.#purgedRows = new Counter({
      name: 'codepair_purge_deleted_rows_total',
      help: 'Expired rows deleted by the purge.',
      registers
    })
    this.#stopTiming = sources.timing.listen((layer, operation, seconds, failed) => {
      if (failed) this.#dbErrors.inc({ layer, operation })
      else this.#dbQueries.observe({ layer, operation }, seconds)
    })
  }

  /** `route`: the route pattern (request.routeOptions.url), or "unmatched" for 404s. */
  request (method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`
    let child = this.#requestChildren.get(key)
    if (child === undefined) {
      child = this.#requests.labels({ method, route, status: String(status) })
      this.#requestChildren.set(key, child)
    }
    child.observe(seconds)
  }

  oauthError (route: string, error: string): void {
    this.#oauthErrors.inc({ route, error })
    if (error === 'expired_token') this.#deviceFlow.inc({ step: 'expired' })
  }

  guessRefused (): void { this.#guessRefusals.inc() }

  purgeRun (ok: boolean, rows: number): void {
    this.#purgeRuns.inc({ result: ok ? 'ok' : 'failed' })
    if (rows > 0) this.#purgedRows.inc(rows)
  }

  /** The event bus observer (EventBus.observe): the funnel and the security counters. */
  readonly event = (event: CodepairEvent): void => {
    const step = FUNNEL[event.type]
    if (step !== undefined) this.#deviceFlow.inc({ step })
    else if (event.type === 'refresh.reuse_detected') this.#refreshReuse.inc()
    else if (event.type === 'user_code.guessing_limited') this.#guessLimited.inc()
    else if (event.type === 'user.sign_in_failed') this.#signInFailures.inc({ reason: (event as CodepairEvent<'user.sign_in_failed'>).data.reason })
  }

  /** The Prometheus text exposition: this app's metrics, then the process's. */
  async text (): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`
  }

  get contentType (): string { return this.registry.contentType }

  close (): void { this.#stopTiming() }
}
