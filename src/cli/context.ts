// What commands need from the environment: the database (most commands need only
// DATABASE_URL, so creating a user on a production database needs no SECRET_KEY), or
// the whole validated configuration (keys).
import { existsSync } from 'node:fs'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { DEFAULT_DATABASE_URL, parseDatabaseUrl, type DatabaseTarget } from '../storage/database-url.js'
import { databaseUnavailable } from '../storage/errors.js'
import { createStorage, type Storage } from '../storage/index.js'
import { createPrismaClient, type Db } from '../storage/prisma.js'

export function databaseTarget (): DatabaseTarget {
  if (process.env.DATABASE_URL === undefined && existsSync('.env')) process.loadEnvFile('.env')
  try {
    return parseDatabaseUrl(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL)
  } catch (err) {
    throw new ConfigError([`DATABASE_URL: ${(err as Error).message}`])
  }
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
