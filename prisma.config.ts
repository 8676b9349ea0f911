// Prisma CLI configuration (generate, migrate deploy, migrate status, db execute).
// DATABASE_URL picks the schema, its migrations and the driver adapter; the Wasm
// engines bundled with the CLI do the rest, so nothing is downloaded. Run the CLI
// through `node scripts/prisma.mjs …` (see README, "Prisma without native engines").
import { existsSync } from 'node:fs'
import { defineConfig } from 'prisma/config'
import { createAdapterFactory } from './src/storage/adapters.ts'
import { DEFAULT_DATABASE_URL, ensureSqliteDirectory, parseDatabaseUrl } from './src/storage/database-url.ts'

if (process.env.DATABASE_URL === undefined && existsSync('.env')) process.loadEnvFile('.env')
const target = parseDatabaseUrl(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL)
ensureSqliteDirectory(target)

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: `prisma/${target.dialect}/schema.prisma`,
  migrations: { path: `prisma/${target.dialect}/migrations` },
  async adapter () {
    const factory = createAdapterFactory(target)
    if (target.dialect === 'sqlite') return factory
    return withNameColumnsAsText(factory)
  }
})

/**
 * Migrate reads PostgreSQL catalog columns of type `name` (OID 19), which the pg
 * adapter cannot map ("Column type 'name' could not be deserialized", upstream
 * prisma/orm#27403). `name` is text on the wire, so report it as text (OID 25).
 * Only the CLI needs this; the app never selects catalog columns.
 */
function withNameColumnsAsText<F extends { connect: () => Promise<object> }> (factory: F): F {
  const connect = factory.connect.bind(factory)
  factory.connect = async () => {
    const adapter = await connect()
    // performIO lives on the class shared by the adapter and its transactions.
    let proto: any = Object.getPrototypeOf(adapter)
    while (proto !== null && !Object.hasOwn(proto, 'performIO')) proto = Object.getPrototypeOf(proto)
    if (proto !== null && proto.__codepairNameAsText !== true) {
      const performIO = proto.performIO
      proto.performIO = async function (this: unknown, query: unknown) {
        const result = await performIO.call(this, query)
        for (const field of result?.fields ?? []) if (field.dataTypeID === 19) field.dataTypeID = 25
        return result
      }
      proto.__codepairNameAsText = true
    }
    return adapter
  }
  return factory
}
