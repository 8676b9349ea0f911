// Several codepair instances as an operator runs them: real child processes of the built
// server (dist/server.js), each on an ephemeral port, all on one PostgreSQL database (and
// one Redis for the per-address limit). Tests talk to them over real HTTP only.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import type { Test } from 'tap'
import { createClient } from '../../src/admin/clients.js'
import { createUser } from '../../src/admin/users.js'
import { DEVICE_CODE_GRANT } from '../../src/oauth/grant-types.js'
import { parseDatabaseUrl } from '../../src/storage/database-url.js'
import { createPrismaClient, type Db } from '../../src/storage/prisma.js'
import { TEST_SECRET, PASSWORD } from './app.js'
import { form, FORM } from './oauth.js'

const SERVER = new URL('../../dist/server.js', import.meta.url).pathname
/** Every instance has the same public address, as behind one load balancer. */
export const CLUSTER_ISSUER = 'http://127.0.0.1:3999'

export interface Instance {
  name: string
  /** http://127.0.0.1:<port> of this instance. */
  url: string
  child: ChildProcess
  output: () => string
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export function clusterEnv (databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    SECRET_KEY: TEST_SECRET,
    ISSUER: CLUSTER_ISSUER,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    PURGE_INTERVAL_SECONDS: '0',
    // Tests give every simulated device or person its own address (X-Forwarded-For).
    TRUST_PROXY: 'true',
    DEVICE_AUTHORIZATION_RATE_PER_IP: '0',
    SHUTDOWN_DRAIN_SECONDS: '0',
    ...extra
  }
}

/** Starts dist/server.js and resolves once it listens (it prints its address); killed in teardown. */
export async function startInstance (t: Test, name: string, env: NodeJS.ProcessEnv): Promise<Instance> {
  const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', d => { out += d })
  child.stderr!.on('data', d => { out += d })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.on('close', (code, signal) => resolve({ code, signal })))
  let gone = false
  void exited.then(() => { gone = true })
  t.teardown(async () => {
    if (!gone) { child.kill('SIGKILL'); await exited }
  })
  // Generous: a cold start loads two Prisma clients, and CI runs two test files on two cores.
  const until = Date.now() + 90_000
  for (;;) {
    const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
    if (m !== null && out.includes('codepair is ready')) return { name, url: m[1]!, child, output: () => out, exited }
    if (gone) throw new Error(`instance ${name} exited before it was ready:\n${out}`)
    if (Date.now() > until) throw new Error(`instance ${name} not ready after 90 s:\n${out}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/**
 * `count` instances on one database. The first starts alone: on an empty database it
 * creates the signing key the others then load (see the report on concurrent first starts).
 */
export async function startCluster (t: Test, count: number, env: NodeJS.ProcessEnv): Promise<Instance[]> {
  const first = await startInstance(t, 'A', env)
  const rest = await Promise.all(Array.from({ length: count - 1 }, async (_, i) => await startInstance(t, String.fromCharCode(66 + i), env)))
  return [first, ...rest]
}

/** A Prisma client on the cluster's database, for setup and for checking what was written; closed in teardown. */
export async function openDb (t: Test, databaseUrl: string): Promise<Db> {
  const db = await createPrismaClient(parseDatabaseUrl(databaseUrl))
  t.teardown(async () => { await db.$disconnect() })
  return db
}

export async function seedClientAndUser (db: Db): Promise<{ clientId: string, username: string }> {
  const client = await createClient(db, { name: 'Cluster TV' })
  await createUser(db, { username: 'alice', password: PASSWORD, name: 'Alice Example', email: 'alice@example.com' })
  return { clientId: client.id, username: 'alice' }
}

/** A documentation-range address (RFC 5737) no other run shares, sent as X-Forwarded-For. */
export const someAddress = () => `203.0.${randomInt(0, 256)}.${randomInt(1, 255)}`

export interface Answer { status: number, body: Record<string, any>, headers: Headers }

export async function postForm (base: string, path: string, body: Record<string, string>, ip = '192.0.2.1'): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...FORM, 'x-forwarded-for': ip }, body: form(body) })
  const text = await res.text()
  let parsed: Record<string, any>
  try { parsed = JSON.parse(text) } catch { parsed = { text } }
  return { status: res.status, body: parsed, headers: res.headers }
}

export async function startFlow (base: string, clientId: string, ip?: string, extra: Record<string, string> = {}): Promise<Answer> {
  return await postForm(base, '/oauth/device_authorization', { client_id: clientId, ...extra }, ip)
}

export async function pollAt (base: string, clientId: string, deviceCode: string, ip?: string): Promise<Answer> {
  return await postForm(base, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: clientId, device_code: deviceCode }, ip)
}

export async function refreshAt (base: string, clientId: string, refreshToken: string, ip?: string): Promise<Answer> {
  return await postForm(base, '/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken }, ip)
}

/**
 * A person's browser over real HTTP: one cookie jar for 127.0.0.1 (cookies are per host,
 * not per port, so it is the same session on every instance, as behind one address), the
 * CSRF token of the last form, and X-Forwarded-For as its own address.
 */
export class HttpBrowser {
  readonly cookies = new Map<string, string>()
  csrf = ''

  constructor (private readonly ip = someAddress()) {}

  private async send (base: string, method: 'GET' | 'POST', path: string, fields?: Record<string, string>): Promise<{ status: number, body: string, location: string | null }> {
    const headers: Record<string, string> = { 'x-forwarded-for': this.ip, cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
    if (fields !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const res = await fetch(`${base}${path}`, { method, headers, redirect: 'manual', body: fields === undefined ? undefined : form({ ...fields, _csrf: this.csrf }) })
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq)
      if (/expires=Thu, 01 Jan 1970/i.test(c) || /max-age=0/i.test(c)) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1))
    }
    const body = await res.text()
    const m = /name="_csrf" value="([^"]*)"/.exec(body)
    if (m?.[1] !== undefined && m[1] !== '') this.csrf = m[1]
    return { status: res.status, body, location: res.headers.get('location') }
  }

  async get (base: string, path: string) { return await this.send(base, 'GET', path) }
  async post (base: string, path: string, fields: Record<string, string>) { return await this.send(base, 'POST', path, fields) }

  /** Enters the code, signs in when asked and approves (or denies), all on `base`; returns the final status. */
  async decide (base: string, userCode: string, username: string, decision: 'approve' | 'deny' = 'approve'): Promise<number> {
    await this.get(base, `/activate?user_code=${encodeURIComponent(userCode)}`)
    const entered = await this.post(base, '/activate', { user_code: userCode })
    if (entered.status !== 303) return entered.status
    if (entered.location === '/login') {
      await this.get(base, '/login')
      const signed = await this.post(base, '/login', { username, password: PASSWORD })
      if (signed.status !== 303) return signed.status
    }
    const page = await this.get(base, '/activate/confirm')
    if (page.status !== 200) return page.status
    const done = await this.post(base, '/activate/confirm', { decision })
    return done.status
  }

  /** Enters a user code on `base`: 303 when accepted, the re-drawn form (200/4xx) otherwise. */
  async enterCode (base: string, userCode: string): Promise<{ status: number, body: string }> {
    if (this.csrf === '') await this.get(base, '/activate')
    return await this.post(base, '/activate', { user_code: userCode })
  }
}
