// Services the suite talks to for real (PostgreSQL, Redis): required in CI (CI=true), where
// a missing server fails the run instead of silently skipping; elsewhere the part is skipped.
import { Socket } from 'node:net'
import type { Test } from 'tap'

export async function requireService (t: Test, name: string, url: string, envVar: string, available: boolean): Promise<boolean> {
  if (available) return true
  if (process.env.CI === 'true') {
    t.fail(`${name} is required when CI=true but ${url} is unreachable`)
    return false
  }
  await t.skip(`${name} unreachable at ${url}; set ${envVar} (required when CI=true)`, () => {})
  return false
}

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Whether something accepts TCP connections at the Redis URL's host and port. */
export async function redisAvailable (url = REDIS_URL): Promise<boolean> {
  const u = new URL(url)
  return await new Promise(resolve => {
    const s = new Socket()
    s.setTimeout(1000)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
    s.once('timeout', () => { s.destroy(); resolve(false) })
    s.connect(Number(u.port === '' ? 6379 : u.port), u.hostname)
  })
}

export async function requireRedis (t: Test): Promise<boolean> {
  return await requireService(t, 'Redis', REDIS_URL, 'TEST_REDIS_URL', await redisAvailable())
}
