// What commands need from the environment: the database (most commands need only
// DATABASE_URL, so creating a user on a production database needs no SECRET_KEY), or
// the whole validated configuration (keys).
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { DEFAULT_DATABASE_URL, parseDatabaseUrl, type DatabaseTarget } from '../storage/database-url.js'
import { databaseUnavailable } from '../storage/errors.js'
import { createStorage, type Storage } from '../storage/index.js'
import { createPrismaClient, type Db } from '../storage/prisma.js'
import type { EventBus } from '../events/bus.js'
import { createEvents } from '../events/setup.js'
import { resolveSecrets } from '../secrets.js'
import { loadUpstreamProviders, type UpstreamProviderConfig } from '../upstream/config.js'

export function databaseTarget (): DatabaseTarget {
  if (process.env.DATABASE_URL === undefined && existsSync('.env')) process.loadEnvFile('.env')
  try {
    return parseDatabaseUrl(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL)
  } catch (err) {
    throw new ConfigError([`DATABASE_URL: ${(err as Error).message}`])
  }
}

/** The providers of UPSTREAM_PROVIDERS_FILE (none when unset), without the rest of the configuration. */
export function upstreamProviders (): UpstreamProviderConfig[] {
  if (process.env.UPSTREAM_PROVIDERS_FILE === undefined && existsSync('.env')) process.loadEnvFile('.env')
  const path = process.env.UPSTREAM_PROVIDERS_FILE?.trim() ?? ''
  if (path === '') return []
  const problems: string[] = []
  const providers = loadUpstreamProviders(resolve(path), problems)
  if (problems.length > 0) throw new ConfigError(problems)
  return providers
}

async function mapped<T> (target: DatabaseTarget, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw databaseUnavailable(err, target) ?? err
  }
}

export async function withDb<T> (fn: (db: Db) => Promise<T>): Promise<T> {
  const target = databaseTarget()
  return await mapped(target, async () => {
    const db = await createPrismaClient(target)
    try {
      return await fn(db)
    } finally {
      await db.$disconnect()
    }
  })
}

export async function withStorage<T> (fn: (storage: Storage, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig()
  return await mapped(config.database, async () => {
    const storage = await createStorage(config.database)
    try {
      return await fn(storage, config)
    } finally {
      await storage.close()
    }
  })
}

/**
 * Storage plus an event bus for commands that cause events (user.created, key.rotated):
 * HOOKS_MODULE's hooks run in this process and the webhooks' outbox rows commit with the
 * change; the server's worker delivers them. Needs the whole configuration.
 */
export async function withEvents<T> (fn: (storage: Storage, config: Config, events: EventBus) => Promise<T>): Promise<T> {
  return await withStorage(async (storage, config) => {
    const secrets = await resolveSecrets(config, storage)
    const say = (level: string) => (obj: object, msg?: string) => {
      process.stderr.write(`codepair: ${level}: ${msg ?? ''} ${JSON.stringify(obj, (k, v) => k === 'err' && v instanceof Error ? v.message : v)}\n`)
    }
    const events = await createEvents(config, storage, secrets, { info: () => {}, warn: say('warning'), error: say('error') }, Date.now)
    try {
      return await fn(storage, config, events.bus)
    } finally {
      await events.stop()
    }
  })
}
