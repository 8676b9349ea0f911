// codepair backup FILE, codepair restore FILE (the embedded SQLite database; src/storage/backup.ts)
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { EXIT } from '../../exit-codes.js'
import { backupDatabase, restoreDatabase } from '../../storage/backup.js'
import { databaseTarget } from '../context.js'
import { printRecord } from '../output.js'
import { run } from '../program.js'

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`

export function register (program: Command): void {
  program.command('backup <FILE>')
    .description('copy the SQLite database to FILE while the server runs (consistent, checked); PostgreSQL: use pg_dump')
    .option('--force', 'replace FILE if it exists')
    .action(run(async ({ args, opts, json }) => {
      const r = await backupDatabase(databaseTarget(), resolve(args[0] ?? ''), { force: opts.force === true })
      if (json) printRecord(true, '', { backedUp: true, ...r })
      else process.stdout.write(`Backed up ${r.source} to ${r.file}: ${mib(r.bytes)}, ${r.pages} pages, migration ${r.migration ?? 'none'}, integrity_check ok, in ${r.seconds.toFixed(2)} s.\n`)
      return EXIT.ok
    }))

  program.command('restore <FILE>')
    .description('replace the SQLite database with the backup FILE (the server must be stopped; the replaced database is kept beside it)')
    .action(run(async ({ args, json }) => {
      const r = await restoreDatabase(databaseTarget(), resolve(args[0] ?? ''))
      if (json) printRecord(true, '', { restored: true, file: r.file, database: r.database, previous: r.previous, pendingMigrations: r.check.pending })
      else {
        process.stdout.write(`Restored ${r.file} to ${r.database}.\n`)
        process.stdout.write(r.previous === null ? 'There was no database there before.\n' : `The database it replaced is kept as ${r.previous}.\n`)
        if (r.check.pending.length > 0) process.stdout.write(`The backup is ${r.check.pending.length} migration${r.check.pending.length === 1 ? '' : 's'} behind this version: \`npm start\` (or \`codepair migrate\`) applies them.\n`)
      }
      return EXIT.ok
    }))
}
