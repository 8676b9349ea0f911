#!/usr/bin/env node
// Runs the Prisma CLI with no native engine: `node scripts/prisma.mjs <prisma args>`.
//
// With engine = "js" and driver adapters (prisma.config.ts), generate and migrate run
// on the Wasm engines bundled in the `prisma` package. The CLI still checks at start-up
// that native engine files exist and tries to download them from Prisma's binary host
// when they do not; pointing PRISMA_QUERY_ENGINE_LIBRARY / PRISMA_SCHEMA_ENGINE_BINARY
// at any existing file satisfies that check (only existence is tested; nothing is
// loaded). We point them at this script itself.
//
// Extra commands:
//   generate-all   generate the SQLite and the PostgreSQL clients
//   sync-schema    copy the models of prisma/sqlite/schema.prisma to prisma/postgresql/
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const self = fileURLToPath(import.meta.url)
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js')

export function prismaEnv (extra = {}) {
  return {
    ...process.env,
    PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? self,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? self,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1', // no telemetry call home (and no network here)
    ...extra
  }
}

export function runPrisma (args, extraEnv = {}, stdio = 'inherit') {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, env: prismaEnv(extraEnv), stdio, encoding: 'utf8' })
}

export function syncSchema () {
  const header = /^[\s\S]*?\/\/ ---- models/m
  const sqlite = readFileSync(join(root, 'prisma/sqlite/schema.prisma'), 'utf8')
  const pgPath = join(root, 'prisma/postgresql/schema.prisma')
  const pg = readFileSync(pgPath, 'utf8')
  const next = pg.match(header)[0] + sqlite.replace(header, '')
  if (next !== pg) writeFileSync(pgPath, next)
}

function main (argv) {
  if (argv[0] === 'sync-schema') return syncSchema()
  if (argv[0] === 'generate-all') {
    for (const url of ['file:./data/codepair.db', 'postgresql://localhost/unused']) {
      const r = runPrisma(['generate', ...argv.slice(1)], { DATABASE_URL: url })
      if (r.status !== 0) process.exit(r.status ?? 1)
    }
    return
  }
  const r = runPrisma(argv)
  process.exit(r.status ?? 1)
}

if (process.argv[1] === self) main(process.argv.slice(2))
