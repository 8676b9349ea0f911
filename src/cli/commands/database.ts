// codepair migrate
import type { Command } from 'commander'
import { EXIT } from '../../exit-codes.js'
import { migrate } from '../../storage/migrate.js'
import { databaseTarget } from '../context.js'
import { printRecord } from '../output.js'
import { run, UsageError } from '../program.js'

function waitSeconds (raw: string | undefined): number {
  const value = raw ?? process.env.MIGRATE_WAIT_SECONDS ?? '30'
  const n = Number(value)
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 3600) throw new UsageError(`--wait must be a whole number of seconds from 0 to 3600 (got "${value}")`, 'codepair migrate')
  return n
}

export function register (program: Command): void {
  program.command('migrate')
    .description('apply pending database migrations (an up-to-date database is only read)')
    .option('--wait <SECONDS>', 'how long to wait for another process to let go of the database (default MIGRATE_WAIT_SECONDS, 30)')
    .action(run(async ({ opts, json }) => {
      const { applied, state } = await migrate(databaseTarget(), {
        waitSeconds: waitSeconds(opts.wait),
        onProgress: line => { process.stderr.write(`codepair migrate: ${line}\n`) }
      })
      if (json) printRecord(true, '', { migrated: true, applied, unknown: state.unknown })
      else {
        process.stdout.write(applied.length === 0 ? 'Database is up to date.\n' : `Migrations applied: ${applied.join(', ')}.\n`)
        if (state.unknown.length > 0) process.stderr.write(`codepair migrate: the database also has migrations this version does not know (${state.unknown.join(', ')}): a newer codepair migrated it\n`)
      }
      return EXIT.ok
    }))
}
