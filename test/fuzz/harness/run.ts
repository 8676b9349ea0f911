// Runs the fuzz suite against a real codepair listening on 127.0.0.1: every route gets
// FUZZ_REQUESTS_PER_ROUTE generated requests over 16 keep-alive connections (odd framing
// on connections of their own); every answer is checked against the shape its endpoint
// promises; the logs, unhandled rejections and the process's memory are watched.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import type { Test } from 'tap'
import { buildApp } from '../../../src/app.js'
import { loadConfig } from '../../../src/config.js'
import { TEST_SECRET } from '../../helpers/app.js'
import { buildContext } from './context.js'
import { RawConnection, sendOnce, type RawResponse } from './raw-http.js'
import { arbitraryRequest, serialize, type FuzzRequest } from './requests.js'
import { RouteCollector, type FuzzRoute } from './routes.js'
import { checkResponse } from './shapes.js'

/**
 * The issue asks 10,000 per route; on the 2-core CI machine that is 24 routes × 10,000 × 2
 * databases = 480,000 requests, 8 to 20 minutes at the 400-1,000 requests/s measured
 * there, more than the whole suite's budget allows. CI runs 2,000 per route per database
 * (README "Hostile input"); FUZZ_REQUESTS_PER_ROUTE=10000 runs the full count.
 */
export const REQUESTS_PER_ROUTE = Number(process.env.FUZZ_REQUESTS_PER_ROUTE ?? 2000)
const CONNECTIONS = 16
const CHUNK = 200
const TIMEOUT_MS = 60_000
/** RSS after the run may exceed RSS after warm-up by at most this fraction. */
const RSS_TOLERANCE = 0.10

/** A real full collection: v8 allows turning on --expose-gc at run time. */
function gcFunction (): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

async function settledRss (gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return process.memoryUsage().rss
}

interface RouteCount { sent: number, byClass: Record<string, number> }
interface Failure { route: string, problem: string, count: number, example: string }

function describe (req: FuzzRequest, res: RawResponse | null | undefined, port: number): string {
  const raw = serialize(req, port).toString('latin1')
  const shown = raw.length > 600 ? `${raw.slice(0, 600)}… (${raw.length} bytes)` : raw
  const answer = res === undefined ? '' : res === null ? '\n→ connection closed without a response' : `\n→ ${res.status} ${JSON.stringify(res.headers)}\n${res.body.toString('utf8').slice(0, 400)}`
  return `${JSON.stringify(shown)}${answer}`
}

function statusClass (status: number | null): string {
  return status === null ? 'no answer' : `${Math.floor(status / 100)}xx`
}

export async function fuzzServer (t: Test, databaseUrl: string, label: string): Promise<void> {
  const gc = gcFunction()
  const collector = new RouteCollector()
  const errorLines: string[] = []
  let warnLines = 0
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    SECRET_KEY: TEST_SECRET,
    ISSUER: 'http://127.0.0.1:8080',
    LOG_LEVEL: 'warn',
    PURGE_INTERVAL_SECONDS: '0',
    // Behind a proxy, the riskiest setting: X-Forwarded-For (fuzzed) becomes request.ip.
    TRUST_PROXY: 'true'
  })
  const app = await buildApp(config, {
    onRoute: collector.onRoute,
    logStream: {
      write (line: string) {
        const level = (JSON.parse(line) as { level?: number }).level ?? 0
        if (level >= 50) errorLines.push(line)
        else if (level >= 40) warnLines++
      }
    }
  })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  const ctx = await buildContext(app, port)

  // Bearer-protected routes announce themselves: 401 with a Bearer challenge to a request without credentials.
  const routes: FuzzRoute[] = []
  for (const route of collector.routes()) {
    const method = route.methods.includes('GET') ? 'GET' : route.methods[0] ?? 'GET'
    const url = route.url.replace(/:(\w+)/g, (_m, p: string) => ctx.pathParams[p]?.[0] ?? 'x')
    const probe = await app.inject({ method: method as 'GET', url })
    routes.push({ ...route, bearer: probe.statusCode === 401 && /^Bearer\b/.test(String(probe.headers['www-authenticate'] ?? '')) })
  }
  t.ok(routes.length >= 20, `${routes.length} routes found by the onRoute hook`)

  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => { rejections.push(reason) }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onRejection)
  t.teardown(() => {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onRejection)
  })

  const counts = new Map<string, RouteCount>(routes.map(r => [r.url, { sent: 0, byClass: {} }]))
  const failures = new Map<string, Failure>()
  const fail = (req: FuzzRequest, problem: string, res: RawResponse | null | undefined) => {
    const key = `${req.route} ${problem}`
    const f = failures.get(key)
    if (f !== undefined) f.count++
    else failures.set(key, { route: req.route, problem, count: 1, example: describe(req, res, port) })
  }

  // Requests in chunks, round-robin over the routes: generation stays cheap and every
  // route gets exactly REQUESTS_PER_ROUTE.
  const arbitraries = routes.map(r => arbitraryRequest(r, ctx))
  const byUrl = new Map(routes.map(r => [r.url, r]))
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647)
  t.comment(`${label}: seed ${seed} (FUZZ_SEED=${seed} repeats this run)`)
  const total = routes.length * REQUESTS_PER_ROUTE
  let queue: FuzzRequest[] = []
  let generated = 0
  let chunkIndex = 0
  function next (): FuzzRequest | undefined {
    if (queue.length === 0 && generated < total) {
      const perRoute = Math.min(CHUNK, REQUESTS_PER_ROUTE - chunkIndex * CHUNK)
      const samples = arbitraries.map((arb, i) => fc.sample(arb, { numRuns: perRoute, seed: seed + chunkIndex * 1000 + i }))
      // Interleaved, so that requests to different routes run side by side.
      for (let j = 0; j < perRoute; j++) for (const s of samples) queue.push(s[j] as FuzzRequest)
      queue.reverse()
      generated += perRoute * arbitraries.length
      chunkIndex++
    }
    return queue.pop()
  }

  let done = 0
  let rssBaseline: number | undefined
  const warmup = Math.floor(total * 0.15)
  const rssSamples: number[] = []

  async function handle (shared: RawConnection, req: FuzzRequest): Promise<void> {
    let conn = shared
    const route = byUrl.get(req.route) as FuzzRoute
    const count = counts.get(req.route) as RouteCount
    count.sent++
    const bytes = serialize(req, port)
    let matched = false
    try {
      matched = app.findRoute({ method: req.method as 'GET', url: req.target }) !== null
    } catch {}
    const isHead = req.method === 'HEAD'
    // CR or LF inside the target or a header value splits one request into two: alone on its connection.
    const raw = req.framing === 'raw' || /[\r\n]/.test(req.target) || req.headers.some(([, v]) => /[\r\n]/.test(v))
    try {
      if (raw) {
        const responses = await sendOnce(port, bytes, isHead, TIMEOUT_MS)
        for (const res of responses) {
          count.byClass[statusClass(res.status)] = (count.byClass[statusClass(res.status)] ?? 0) + 1
          if (res.status >= 500) fail(req, `${res.status} (server error)`, res)
        }
        if (responses.length === 0) count.byClass['no answer'] = (count.byClass['no answer'] ?? 0) + 1
        return
      }
      // HEAD on a connection of its own: an answer written by the HTTP parser carries a body
      // even to a HEAD, which would desynchronise a shared connection.
      if (isHead) conn = new RawConnection(port, TIMEOUT_MS)
      let res = await conn.send(bytes, isHead)
      // The server may close an idle keep-alive connection as we write: once more on a fresh one.
      if (res === null) res = await conn.send(bytes, isHead)
      count.byClass[statusClass(res?.status ?? null)] = (count.byClass[statusClass(res?.status ?? null)] ?? 0) + 1
      if (res === null) {
        // Node drops CONNECT and upgrade requests nobody listens for: that is not ours to answer.
        if (!/^(CONNECT)$/.test(req.method)) fail(req, 'connection closed without a response', res)
        return
      }
      // Refused before routing: the parser closes the connection; do not write on it again.
      if (res.headers['x-request-id'] === undefined) conn.close()
      const problem = checkResponse(res, req, route, matched)
      if (problem !== null) fail(req, problem, res)
    } catch (err) {
      conn.close()
      fail(req, (err as Error).message, undefined)
    } finally {
      if (conn !== shared) conn.close()
    }
  }

  const started = Date.now()
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    const conn = new RawConnection(port, TIMEOUT_MS)
    for (let req = next(); req !== undefined; req = next()) {
      await handle(conn, req)
      done++
      if (done === warmup) rssBaseline = await settledRss(gc)
      else if (rssBaseline !== undefined && done % Math.max(1, Math.floor(total / 10)) === 0) rssSamples.push(process.memoryUsage().rss)
    }
    conn.close()
  }))
  const seconds = (Date.now() - started) / 1000
  const rssFinal = await settledRss(gc)

  const lines = [...counts].map(([url, c]) => `  ${url.padEnd(40)} ${String(c.sent).padStart(6)}  ${Object.entries(c.byClass).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`)
  t.comment(`${label}: ${done} requests in ${seconds.toFixed(1)} s (${Math.round(done / seconds)}/s), ${REQUESTS_PER_ROUTE} per route, ${routes.length} routes\n${lines.join('\n')}`)
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`
  t.comment(`${label}: RSS after warm-up (${warmup} requests) ${mb(rssBaseline ?? 0)}, after the run ${mb(rssFinal)}; samples ${rssSamples.map(mb).join(', ')}; ${warnLines} warn-level log lines`)

  for (const [url, c] of counts) t.equal(c.sent, REQUESTS_PER_ROUTE, `${url}: ${REQUESTS_PER_ROUTE} requests`)
  const failureList = [...failures.values()]
  t.same(failureList.map(f => `${f.route}: ${f.problem} (×${f.count})`), [], 'every answer is below 500 and in the shape its endpoint promises')
  for (const f of failureList.slice(0, 25)) t.comment(`${f.route}: ${f.problem} (×${f.count})\n${f.example}`)
  t.same(rejections.map(String), [], 'no unhandled rejection or uncaught exception')
  t.same(errorLines.slice(0, 10), [], 'no error-level log line')
  t.ok(rssBaseline !== undefined && rssFinal <= rssBaseline * (1 + RSS_TOLERANCE),
    `RSS within ${RSS_TOLERANCE * 100} % of its value after warm-up (${mb(rssBaseline ?? 0)} → ${mb(rssFinal)})`)
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
  t.equal(ready.status, 200, 'the server still answers after the run')
}
