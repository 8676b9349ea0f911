// codepair keys …
import type { Command } from 'commander'
import { listKeys, rotateKeys } from '../../admin/keys.js'
import { EXIT } from '../../exit-codes.js'
import { withEvents, withStorage } from '../context.js'
import { printTable } from '../output.js'
import { group, run, UsageError } from '../program.js'

const COLUMNS = ['kid', 'alg', 'state', 'activateAt', 'retireAt']

export function register (program: Command): void {
  const keys = group(program, 'keys', 'token signing keys')

  keys.command('list')
    .description('every key and its state (next, active, retiring, retired)')
    .action(run(async ({ json }) => {
      printTable(json, await withStorage(async (storage, config) => await listKeys(config, storage)), COLUMNS)
      return EXIT.ok
    }))

  keys.command('rotate')
    .description('publish a new key now; it signs after --publish-seconds, and old keys retire once every token they signed has expired')
    .option('--publish-seconds <N>', 'seconds between publishing and signing (default KEY_PUBLISH_SECONDS; 0 in an emergency)')
    .action(run(async ({ opts, json }) => {
      const raw = opts.publishSeconds as string | undefined
      const publish = raw === undefined ? undefined : Number(raw)
      if (publish !== undefined && !(raw?.trim() !== '' && Number.isInteger(publish) && publish >= 0)) {
        throw new UsageError(`--publish-seconds must be a whole number of seconds (got "${raw ?? ''}")`, 'codepair keys rotate')
      }
      printTable(json, await withEvents(async (storage, config, events) => await rotateKeys(config, storage, publish, Date.now, events)), COLUMNS)
      return EXIT.ok
    }))
}
