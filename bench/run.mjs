#!/usr/bin/env node
// npm run bench — every hot path of codepair measured as a ratio to a bare Fastify
// route measured in the same run, a ceiling run right before each measured run. Servers run pinned to core 0 (taskset), the load
// generator (autocannon, 50 keep-alive connections) to core 1. Each scenario: a warm-up
// run (discarded), then BENCH_RUNS runs of BENCH_SECONDS; min/median/max are reported.
// Everything targets 127.0.0.1 and is bounded in time and request count.
//
// Environment: BENCH_SECONDS (10), BENCH_RUNS (3), BENCH_WARMUP (3), BENCH_MEMORY_POLLS
// (1000000; 0 skips), BENCH_POSTGRES (auto: used when 127.0.0.1:5432 answers; 0 skips),
// TEST_POSTGRES_URL (postgresql://postgres@127.0.0.1:5432/postgres), BENCH_ONLY (a comma list of
// scenario names, e.g. `api_me` or `api_me,jwks`: only those run; the ceiling always does).
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import pg from 'pg'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
const MEMORY_POLLS = Number(process.env.BENCH_MEMORY_POLLS ?? 1000000)
const PACED_CODES = Number(process.env.BENCH_PACED_CODES ?? 200000)
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const CLIENT = 'bench-tv'
const TMP = mkdtempSync(join(os.tmpdir(), 'codepair-bench-'))
const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0
const started = Date.now()
const ONLY = process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY === '' ? undefined : process.env.BENCH_ONLY.split(',').map(s => s.trim())
const want = (scenario) => ONLY === undefined || ONLY.includes(scenario)

const log = (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`)
const sha = (s) => createHash('sha256').update(s).digest('base64url')
const pinned = (core, args) => HAS_TASKSET ? ['taskset', ['-c', String(core), ...args]] : [args[0], args.slice(1)]

// ---------------------------------------------------------------- CPU time

// CPU time per request is the figure that carries over to other machines (req/s depends
// on how many cores the server, the database and the load generator share here). It is
// read from /proc/<pid>/stat (utime + stime, all threads) before and after each measured
// run: the codepair process, and every process named postgres (backends and background
// workers, summed: the server's whole cost on the database side).
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100
const HAS_PROC = (() => { try { readFileSync('/proc/self/stat'); return true } catch { return false } })()

function cpuMsOf (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 1000 / CLK_TCK // fields 14 and 15: utime, stime
  } catch {
    return undefined // exited
  }
}

/** CPU milliseconds of every postgres process, by pid. */
function postgresCpu () {
  const out = new Map()
  if (!HAS_PROC) return out
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'postgres') continue
    } catch { continue }
    const ms = cpuMsOf(name)
    if (ms !== undefined) out.set(name, ms)
  }
  return out
}

/** Starts a CPU window over `pid` (and PostgreSQL when `database` is 'postgresql'); the returned function ends it. */
function cpuWindow (pid, database) {
  if (!HAS_PROC || pid === undefined) return () => undefined
  const server0 = cpuMsOf(pid)
  const pg0 = database === 'postgresql' ? postgresCpu() : undefined
  return () => {
    const server = (cpuMsOf(pid) ?? server0) - server0
    if (pg0 === undefined) return { serverMs: server, databaseMs: undefined }
    let db = 0
    // A backend that started in the window counts whole; one that ended is lost (the
    // pools keep their connections, so that is at most a few milliseconds).
    for (const [p, ms] of postgresCpu()) db += ms - (pg0.get(p) ?? 0)
    return { serverMs: server, databaseMs: db }
  }
}

// ---------------------------------------------------------------- processes

/** Servers still running: killed if the bench stops on an error. */
const servers = new Set()

async function startServer (kind, env = {}) {
  const [cmd, args] = pinned(0, [process.execPath, '--expose-gc', join(ROOT, 'bench/server.mjs'), kind])
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  servers.add(child)
  child.once('exit', () => servers.delete(child))
  const port = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${kind} did not start`)), 60000)
    child.stdout.on('data', (d) => {
      out += d
      const m = /READY (\d+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.on('exit', (code) => reject(new Error(`${kind} exited with ${code}`)))
  })
  const memory = (gc = true) => new Promise((resolve) => {
    child.once('message', (m) => resolve(m.memory))
    child.send({ type: 'memory', gc })
  })
  const stop = () => new Promise((resolve) => { child.removeAllListeners('exit'); child.once('exit', resolve); child.kill('SIGTERM') })
  return { port, memory, stop, pid: child.pid }
}

function load (spec) {
  const [cmd, args] = pinned(1, [process.execPath, join(ROOT, 'bench/load.mjs'), JSON.stringify(spec)])
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Where the rotation through a body list stands, so consecutive runs go on polling the
// next codes instead of starting again at the first ones (which were just polled).
const offsets = new Map()

async function loadFrom (spec) {
  const key = spec.bodiesFile ?? ''
  const r = await load({ ...spec, offset: offsets.get(key) ?? 0 })
  // + connections: requests still in flight when a run stops reached the server uncounted.
  offsets.set(key, (offsets.get(key) ?? 0) + r.requests + (spec.connections ?? 50))
  return r
}

// The ceiling server stays up for the whole run, and a ceiling run precedes every
// measured run: a neighbour that slows the machine for a minute then slows both sides of
// the ratio, instead of making one scenario look bad.
let ceilingSpec
const ceilingRuns = []

async function measure (label, spec, cpu = {}) {
  log(`${label}: warm-up ${WARMUP} s`)
  await loadFrom({ ...spec, seconds: WARMUP })
  const runs = []
  const besideCeiling = []
  for (let i = 0; i < RUNS; i++) {
    if (ceilingSpec !== undefined && spec !== ceilingSpec) {
      const c = await load({ ...ceilingSpec, seconds: Math.max(2, SECONDS / 2) })
      besideCeiling.push(c.rps)
      ceilingRuns.push(c)
    }
    const endCpu = cpuWindow(cpu.pid, cpu.database)
    const r = await loadFrom({ ...spec, seconds: SECONDS })
    const used = endCpu()
    if (used !== undefined && r.requests > 0) {
      r.serverUsPerReq = 1000 * used.serverMs / r.requests
      if (used.databaseMs !== undefined) r.databaseUsPerReq = 1000 * used.databaseMs / r.requests
    }
    const cpuNote = r.serverUsPerReq === undefined ? '' : `, CPU ${Math.round(r.serverUsPerReq)} µs/req${r.databaseUsPerReq === undefined ? '' : ` + PostgreSQL ${Math.round(r.databaseUsPerReq)} µs/req`}`
    log(`${label}: run ${i + 1}/${RUNS}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${cpuNote}, ${JSON.stringify(r.classes)}${besideCeiling.length > 0 ? ` (ceiling beside it: ${Math.round(besideCeiling.at(-1))} req/s)` : ''}`)
    runs.push(r)
  }
  const classes = {}
  for (const r of runs) for (const [k, v] of Object.entries(r.classes)) classes[k] = (classes[k] ?? 0) + v
  return {
    label,
    rps: { min: Math.min(...runs.map(r => r.rps)), median: median(runs.map(r => r.rps)), max: Math.max(...runs.map(r => r.rps)) },
    p50: median(runs.map(r => r.p50)),
    p99: median(runs.map(r => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors + r.timeouts, 0),
    serverUsPerReq: runs.every(r => r.serverUsPerReq !== undefined) ? median(runs.map(r => r.serverUsPerReq)) : undefined,
    databaseUsPerReq: runs.every(r => r.databaseUsPerReq !== undefined) ? median(runs.map(r => r.databaseUsPerReq)) : undefined,
    classes,
    ceilingBeside: besideCeiling.length === 0 ? undefined : median(besideCeiling)
  }
}

// ---------------------------------------------------------------- databases

function migrate (url) {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'migrate'], { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`migrate failed: ${r.stderr}`)
}

let sqliteTemplate
function freshSqlite (name) {
  if (sqliteTemplate === undefined) {
    sqliteTemplate = join(TMP, 'template.db')
    migrate(`file:${sqliteTemplate}`)
  }
  const file = join(TMP, `${name}.db`)
  copyFileSync(sqliteTemplate, file)
  return { url: `file:${file}`, file }
}

let pgTemplateReady = false
const pgDatabases = []
async function freshPostgres (name) {
  const admin = new pg.Client({ connectionString: PG_ADMIN })
  await admin.connect()
  try {
    const template = 'codepair_bench_template'
    if (!pgTemplateReady) {
      await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)
      await admin.query(`CREATE DATABASE ${template}`)
      const u = new URL(PG_ADMIN); u.pathname = `/${template}`
      migrate(u.toString())
      pgTemplateReady = true
    }
    const db = `codepair_bench_${name}`
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${db} TEMPLATE ${template}`)
    pgDatabases.push(db)
    const u = new URL(PG_ADMIN); u.pathname = `/${db}`
    return { url: u.toString() }
  } finally {
    await admin.end()
  }
}

async function dropPostgres () {
  if (pgDatabases.length === 0 && !pgTemplateReady) return
  const admin = new pg.Client({ connectionString: PG_ADMIN })
  await admin.connect()
  for (const db of [...pgDatabases, 'codepair_bench_template']) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
  await admin.end()
}

/** Inserts the bench client and `count` live device authorizations; returns their device codes. */
async function seed (target, { codes = 0, status = 'pending', userId = null, interval = 5 } = {}) {
  const now = Date.now()
  const deviceCodes = Array.from({ length: codes }, () => randomBytes(32).toString('base64url'))
  const rows = deviceCodes.map((dc) => [randomUUID(), sha(dc), sha(randomBytes(16).toString('hex')), CLIENT, 'openid profile', status, userId, now, now + 3600 * 1000, interval])
  const client = [CLIENT, 'Bench TV', 'public', `${GRANT} refresh_token`, 'openid profile email offline_access', 'openid profile', now, now]
  const user = ['bench-user', 'bench', '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', now, now]
  if (target.file !== undefined) {
    const db = new Database(target.file)
    db.prepare('INSERT INTO "Client" (id, name, type, "grantTypes", scopes, "defaultScopes", "createdAt", "updatedAt") VALUES (?,?,?,?,?,?,?,?)').run(...client)
    db.prepare('INSERT INTO "User" (id, username, "passwordHash", "createdAt", "updatedAt") VALUES (?,?,?,?,?)').run(...user)
    const ins = db.prepare('INSERT INTO "DeviceAuthorization" (id, "deviceCodeHash", "userCodeHash", "clientId", scope, status, "userId", "createdAt", "expiresAt", "intervalSeconds") VALUES (?,?,?,?,?,?,?,?,?,?)')
    db.transaction(() => { for (const r of rows) ins.run(...r) })()
    db.close()
  } else {
    const c = new pg.Client({ connectionString: target.url })
    await c.connect()
    const ts = (ms) => new Date(ms)
    await c.query('INSERT INTO "Client" (id, name, type, "grantTypes", scopes, "defaultScopes", "createdAt", "updatedAt") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', [...client.slice(0, 6), ts(now), ts(now)])
    await c.query('INSERT INTO "User" (id, username, "passwordHash", "createdAt", "updatedAt") VALUES ($1,$2,$3,$4,$5)', [...user.slice(0, 3), ts(now), ts(now)])
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000)
      const values = []
      const params = []
      chunk.forEach((r, j) => {
        values.push(`(${Array.from({ length: 10 }, (_, k) => `$${j * 10 + k + 1}`).join(',')})`)
        params.push(r[0], r[1], r[2], r[3], r[4], r[5], r[6], ts(r[7]), ts(r[8]), r[9])
      })
      await c.query(`INSERT INTO "DeviceAuthorization" (id, "deviceCodeHash", "userCodeHash", "clientId", scope, status, "userId", "createdAt", "expiresAt", "intervalSeconds") VALUES ${values.join(',')}`, params)
    }
    await c.end()
  }
  return deviceCodes
}

function codepairEnv (url, extra = {}) {
  return {
    DATABASE_URL: url,
    SECRET_KEY: 'bench-secret-key-bench-secret-key-bench-secret-key',
    ISSUER: 'http://127.0.0.1:3000',
    LOG_LEVEL: 'silent',
    PURGE_INTERVAL_SECONDS: '0',
    KEY_RELOAD_SECONDS: '0',
    // Room for the live codes the bench creates, within the brute-force bound:
    // 2 × (20 + 100) × 10^7 / 20^12 ≈ 5.9 × 10⁻⁷ < 10⁻⁶.
    USER_CODE_LENGTH: '12',
    MAX_LIVE_CODES: '10000000',
    // One load generator is one address: keep the per-address limit's hook (its cost is
    // part of the figure) with a budget the bench never reaches.
    DEVICE_AUTHORIZATION_RATE_PER_IP: '1000000',
    ...extra
  }
}

const pollBodies = (name, codes) => {
  const file = join(TMP, `${name}-bodies.json`)
  writeFileSync(file, JSON.stringify(codes.map(dc => `grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=${dc}`)))
  return file
}
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

// ---------------------------------------------------------------- scenarios

async function withCodepair (dialect, name, seedOpts, env, fn) {
  const target = dialect === 'sqlite' ? freshSqlite(name) : await freshPostgres(name)
  const codes = await seed(target, seedOpts)
  const server = await startServer('codepair', codepairEnv(target.url, env))
  try {
    return await fn(server, codes)
  } finally {
    await server.stop()
  }
}

async function scenarios (dialect) {
  const results = []
  const tag = (r, extra = {}) => results.push({ ...r, dialect, ...extra })

  if (want('device_authorization')) tag(await withCodepair(dialect, `da_${dialect}`, {}, {}, async (s) =>
    await measure(`${dialect} device authorization`, { port: s.port, method: 'POST', path: '/oauth/device_authorization', headers: FORM, body: `client_id=${CLIENT}&scope=openid%20profile` }, { pid: s.pid, database: dialect })), { scenario: 'device_authorization' })

  // At the RFC pace: 200,000 codes polled in turn, so each waits ≥ 10 s even at
  // 20,000 req/s (interval 5 s); the breakdown shows any slow_down.
  let memoryResult
  if (want('pending')) tag(await withCodepair(dialect, `pending_${dialect}`, { codes: PACED_CODES }, {}, async (s, codes) => {
    const spec = { port: s.port, method: 'POST', path: '/oauth/token', headers: FORM, bodiesFile: pollBodies('pending', codes) }
    const r = await measure(`${dialect} pending polls (${PACED_CODES.toLocaleString('en-US')} codes, RFC pace)`, spec, { pid: s.pid, database: dialect })
    if (dialect === 'sqlite' && MEMORY_POLLS > 0) {
      const afterWarmup = await s.memory()
      log(`memory: ${MEMORY_POLLS.toLocaleString()} more polls…`)
      const long = await loadFrom({ ...spec, amount: MEMORY_POLLS })
      const after = await s.memory()
      memoryResult = { polls: long.requests, afterWarmup, after, classes: long.classes }
      log(`memory: rss ${(afterWarmup.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MiB, heapUsed ${(afterWarmup.heapUsed / 2 ** 20).toFixed(1)} → ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB`)
    }
    return r
  }), { scenario: 'pending' })

  if (want('slow_down')) tag(await withCodepair(dialect, `slow_${dialect}`, { codes: 50 }, {}, async (s, codes) =>
    await measure(`${dialect} polls too fast (slow_down)`, { port: s.port, method: 'POST', path: '/oauth/token', headers: FORM, bodiesFile: pollBodies('slow', codes) }, { pid: s.pid, database: dialect })), { scenario: 'slow_down' })

  // Table size: 1,000 vs 100,000 live codes, all polled in turn. With an interval of 1 s and
  // 1 s of leeway every poll is on pace whatever the rate, so both runs answer
  // authorization_pending and do the same work per poll.
  for (const n of [1000, 100000]) {
    if (want(`pending_${n}`)) tag(await withCodepair(dialect, `live${n}_${dialect}`, { codes: n, interval: 1 }, { POLL_INTERVAL_SECONDS: '1', POLL_LEEWAY_MS: '1000' }, async (s, codes) =>
      await measure(`${dialect} pending polls, ${n.toLocaleString()} live codes`, { port: s.port, method: 'POST', path: '/oauth/token', headers: FORM, bodiesFile: pollBodies(`live${n}`, codes) }, { pid: s.pid, database: dialect })), { scenario: `pending_${n}` })
  }

  // /api/me reads the token's grant, user, client and jti (one statement per event-loop
  // turn): measured on both databases. JWKS and discovery touch no database: SQLite only.
  const statics = dialect === 'sqlite' ? ['api_me', 'jwks', 'discovery'] : ['api_me']
  if (statics.some(want)) {
    await withCodepair(dialect, `static_${dialect}`, { codes: want('api_me_1000') ? 1001 : 1, status: 'approved', userId: 'bench-user' }, {}, async (s, codes) => {
      const token = await fetch(`http://127.0.0.1:${s.port}/oauth/token`, { method: 'POST', headers: FORM, body: `grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=${codes[0]}` }).then(r => r.json())
      if (typeof token.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(token)}`)
      if (want('api_me')) tag(await measure(`${dialect} GET /api/me`, { port: s.port, method: 'GET', path: '/api/me', headers: { authorization: `Bearer ${token.access_token}` } }, { pid: s.pid, database: dialect }), { scenario: 'api_me' })
      if (want('api_me_1000')) {
        // 1,000 devices, each with its own grant and token, called in turn: no two requests
        // in flight share a token, so nothing is served twice from one read.
        const headers = []
        for (const dc of codes.slice(1)) {
          const t = await fetch(`http://127.0.0.1:${s.port}/oauth/token`, { method: 'POST', headers: FORM, body: `grant_type=${encodeURIComponent(GRANT)}&client_id=${CLIENT}&device_code=${dc}` }).then(r => r.json())
          if (typeof t.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(t)}`)
          headers.push({ authorization: `Bearer ${t.access_token}` })
        }
        const headersFile = join(TMP, `tokens-${dialect}.json`)
        writeFileSync(headersFile, JSON.stringify(headers))
        tag(await measure(`${dialect} GET /api/me, 1,000 tokens in turn`, { port: s.port, method: 'GET', path: '/api/me', headersFile }, { pid: s.pid, database: dialect }), { scenario: 'api_me_1000' })
      }
      if (dialect !== 'sqlite') return
      if (want('jwks')) tag(await measure('GET /.well-known/jwks.json', { port: s.port, method: 'GET', path: '/.well-known/jwks.json' }, { pid: s.pid }), { scenario: 'jwks' })
      if (want('discovery')) tag(await measure('GET /.well-known/openid-configuration', { port: s.port, method: 'GET', path: '/.well-known/openid-configuration' }, { pid: s.pid }), { scenario: 'discovery' })
    })
  }
  return { results, memory: memoryResult }
}

// ---------------------------------------------------------------- report

const TARGETS = {
  device_authorization: 0.30, pending: 0.30, slow_down: 0.30, api_me: 0.60, jwks: 0.80, discovery: 0.80
}

function report (ceiling, results, memory) {
  const lines = []
  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  const us = (x) => x === undefined ? '–' : Math.round(x).toLocaleString('en-US')
  lines.push('| scenario | db | req/s median (min–max) | ceiling beside it | ratio | target | CPU µs/req: server | CPU µs/req: PostgreSQL | p50 ms | p99 ms | p99 ≤ 3×p50 | responses |')
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  lines.push(`| ceiling: bare Fastify POST | – | ${fmt(ceiling.rps.median)} (${fmt(ceiling.rps.min)}–${fmt(ceiling.rps.max)}) | | 1.00 | | ${us(ceiling.serverUsPerReq)} | – | ${ceiling.p50} | ${ceiling.p99} | ${ceiling.p99 <= 3 * Math.max(ceiling.p50, 1) ? 'yes' : 'no'} | ${Object.entries(ceiling.classes).map(([k, v]) => `${k}: ${fmt(v)}`).join(', ')} |`)
  for (const r of results) {
    const beside = r.ceilingBeside ?? ceiling.rps.median
    const ratio = r.rps.median / beside
    const target = TARGETS[r.scenario]
    const met = target === undefined ? '' : `≥ ${target.toFixed(2)} ${ratio >= target ? '✓' : '✗'}`
    const p99ok = r.p99 <= 3 * Math.max(r.p50, 1)
    lines.push(`| ${r.label} | ${r.dialect} | ${fmt(r.rps.median)} (${fmt(r.rps.min)}–${fmt(r.rps.max)}) | ${fmt(beside)} | ${ratio.toFixed(2)} | ${met} | ${us(r.serverUsPerReq)} | ${us(r.databaseUsPerReq)} | ${r.p50} | ${r.p99} | ${p99ok ? 'yes' : 'no'} | ${Object.entries(r.classes).map(([k, v]) => `${k}: ${fmt(v)}`).join(', ')} |`)
  }
  for (const dialect of ['sqlite', 'postgresql']) {
    const a = results.find(r => r.dialect === dialect && r.scenario === 'pending_1000')
    const b = results.find(r => r.dialect === dialect && r.scenario === 'pending_100000')
    // Compared as ratios to the ceiling beside each: the machine's speed drifts between runs.
    const ra = a && a.rps.median / (a.ceilingBeside ?? ceiling.rps.median)
    const rb = b && b.rps.median / (b.ceilingBeside ?? ceiling.rps.median)
    if (a && b) lines.push(`\n${dialect}: pending polls with 100,000 live codes run at ${(100 * rb / ra).toFixed(1)} % of the rate with 1,000, both as ratios to the ceiling beside them (${rb.toFixed(2)} vs ${ra.toFixed(2)}; raw ${Math.round(b.rps.median)} vs ${Math.round(a.rps.median)} req/s; target ≥ 90 %).`)
  }
  if (memory) {
    const mb = (x) => (x / 2 ** 20).toFixed(1)
    const growth = 100 * (memory.after.rss - memory.afterWarmup.rss) / memory.afterWarmup.rss
    lines.push(`\nMemory (SQLite, after GC): RSS ${mb(memory.afterWarmup.rss)} MiB after warm-up → ${mb(memory.after.rss)} MiB after ${fmt(memory.polls)} more polls (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %, target ≤ 10 %); heap used ${mb(memory.afterWarmup.heapUsed)} → ${mb(memory.after.heapUsed)} MiB.`)
  }
  return lines.join('\n')
}

async function postgresReachable () {
  if (process.env.BENCH_POSTGRES === '0') return false
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 })
  try { await c.connect(); await c.end(); return true } catch { return false }
}

async function main () {
  log(`codepair bench: ${RUNS} × ${SECONDS} s per scenario after ${WARMUP} s of warm-up; ${HAS_TASKSET ? 'server on core 0, load on core 1' : 'taskset missing: not pinned'}`)
  const ceilingServer = await startServer('ceiling')
  ceilingSpec = { port: ceilingServer.port, method: 'POST', path: '/ceiling', headers: { 'content-type': 'application/json' }, body: '{"device_code":"x"}' }
  const ceiling = await measure('ceiling (bare Fastify POST)', ceilingSpec, { pid: ceilingServer.pid })

  const all = []
  const sqlite = process.env.BENCH_SQLITE === '0' ? { results: [], memory: undefined } : await scenarios('sqlite')
  all.push(...sqlite.results)
  if (await postgresReachable()) all.push(...(await scenarios('postgresql')).results)
  else log('PostgreSQL not reachable: SQLite only')

  await ceilingServer.stop()
  const table = report(ceiling, all, sqlite.memory)
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
  const when = new Date().toISOString()
  process.stdout.write(`\ncodepair bench — ${when}\n${machine}\n\n${table}\n`)
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
  const json = JSON.stringify({ when, machine, seconds: SECONDS, runs: RUNS, ceiling, ceilingRuns: ceilingRuns.map(r => r.rps), results: all, memory: sqlite.memory, table }, null, 2)
  writeFileSync(join(ROOT, 'bench/results/latest.json'), json)
  writeFileSync(join(ROOT, `bench/results/${when.slice(0, 19).replace(/[:T]/g, '-')}.json`), json)
  log('results written to bench/results/latest.json')
}

try {
  await main()
} finally {
  for (const child of servers) child.kill('SIGKILL')
  await dropPostgres().catch(() => {})
  rmSync(TMP, { recursive: true, force: true })
}
