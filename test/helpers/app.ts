// Builds a codepair app per test on its own database, torn down with the test.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { createClient, type CreatedClient, type CreateClientInput } from '../../src/admin/clients.js'
import { createUser } from '../../src/admin/users.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { Hooks } from '../../src/events/types.js'
import { TestClock } from './clock.js'
import { freshSqliteUrl } from './db.js'

export interface TestApp {
  app: FastifyInstance
  config: Config
  clock: TestClock
}

export const TEST_SECRET = 'test-secret-key-that-is-long-enough-0123456789'

export async function buildTestApp (t: Test, opts: { env?: Record<string, string>, databaseUrl?: string, clock?: TestClock, logStream?: { write (line: string): void }, hooks?: Hooks | Hooks[] } = {}): Promise<TestApp> {
  const config = loadConfig({
    DATABASE_URL: opts.databaseUrl ?? freshSqliteUrl(t),
    SECRET_KEY: TEST_SECRET,
    LOG_LEVEL: 'silent',
    PURGE_INTERVAL_SECONDS: '0',
    // Tests create many codes from 127.0.0.1; the rate-limit test turns it back on.
    DEVICE_AUTHORIZATION_RATE_PER_IP: '0',
    ...opts.env
  })
  const clock = opts.clock ?? new TestClock()
  const app = await buildApp(config, { clock: clock.now, logStream: opts.logStream, hooks: opts.hooks })
  t.teardown(async () => { await app.close() })
  return { app, config, clock }
}

export async function addClient (app: FastifyInstance, input: Partial<CreateClientInput> = {}): Promise<CreatedClient> {
  return await createClient(app.codepair.storage.db, { name: 'Test TV', ...input })
}

export const PASSWORD = 'correct horse battery staple'

export async function addUser (app: FastifyInstance, username = 'alice', password = PASSWORD) {
  return await createUser(app.codepair.storage.db, { username, password, name: 'Alice Example', email: `${username}@example.com` })
}

/**
 * A port for a test server. Below Linux's ephemeral range (32768–60999): there, busy test
 * runs' own outgoing connections (PostgreSQL, Redis) hold local ports and listen() fails
 * with EADDRINUSE.
 */
export function testPort (): number {
  return 20000 + Math.floor(Math.random() * 12000)
}

/** A codepair listening on 127.0.0.1 (for clients that speak real HTTP), on a frozen or real clock. */
/**
 * A listening app. `host: 'localhost'` puts localhost in ISSUER (it still listens on
 * 127.0.0.1): WebAuthn refuses IP addresses as relying party ids.
 */
export async function listenTestApp (t: Test, opts: { env?: Record<string, string>, clock?: TestClock, databaseUrl?: string, hooks?: Hooks | Hooks[], host?: '127.0.0.1' | 'localhost' } = {}): Promise<TestApp & { issuer: string }> {
  const port = testPort()
  const issuer = `http://${opts.host ?? '127.0.0.1'}:${port}`
  const ctx = await buildTestApp(t, { env: { ISSUER: issuer, PORT: String(port), ...opts.env }, clock: opts.clock, databaseUrl: opts.databaseUrl, hooks: opts.hooks })
  await ctx.app.listen({ host: '127.0.0.1', port })
  await ctx.app.listenMetrics()
  return { ...ctx, issuer }
}
