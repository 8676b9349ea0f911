// Applies pending migrations with `prisma migrate deploy` (through scripts/prisma.mjs,
// which runs the CLI on its bundled Wasm engines: nothing is downloaded).
import { runPrisma } from '../../scripts/prisma.mjs'

export interface MigrateResult { ok: boolean, output: string }

export function migrateDatabase (databaseUrl: string): MigrateResult {
  const r = runPrisma(['migrate', 'deploy'], { DATABASE_URL: databaseUrl }, 'pipe')
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`
  return { ok: r.status === 0, output }
}
