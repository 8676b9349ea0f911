// codepair webhook …  Subscriptions to events, signed per Standard Webhooks and delivered
// from the outbox by the server's worker (src/events/webhook-worker.ts).
import type { Command } from 'commander'
import { createWebhook, listDeliveries, listWebhooks, setWebhookEnabled } from '../../admin/webhooks.js'
import { EXIT } from '../../exit-codes.js'
import { resolveSecrets } from '../../secrets.js'
import { withDb, withStorage } from '../context.js'
import { printRecord, printTable } from '../output.js'
import { group, run, UsageError } from '../program.js'

function count (raw: string | undefined, what: string, dflt: number): number {
  if (raw === undefined) return dflt
  const n = Number(raw)
  if (!(raw.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= 1000)) {
    throw new UsageError(`${what} must be a whole number from 1 to 1000 (got "${raw}")`, 'codepair webhook deliveries')
  }
  return n
}

export function register (program: Command): void {
  const webhook = group(program, 'webhook', 'signed event deliveries to your own endpoints')

  webhook.command('create')
    .description('subscribe a URL to events; the signing secret (whsec_…) is shown once')
    .requiredOption('--url <URL>', 'where deliveries are POSTed (https in production mode)')
    .requiredOption('--events <TYPES>', 'event types separated by spaces, e.g. "device.approved device.tokens_issued", or * for all')
    .option('--description <TEXT>', 'what it is for')
    .action(run(async ({ opts, json }) => {
      const w = await withStorage(async (storage, config) => await createWebhook(storage.db, (await resolveSecrets(config, storage)).webhookSecretKey, {
        url: opts.url, events: opts.events, description: opts.description
      }, config.mode === 'production'))
      printRecord(json, 'Webhook created', w, 'Store the secret now: it is shown only once. Verify every delivery with it (Standard Webhooks).')
      return EXIT.ok
    }))

  webhook.command('list')
    .description('every subscription')
    .action(run(async ({ json }) => {
      printTable(json, await withDb(listWebhooks), ['id', 'url', 'enabled', 'events'])
      return EXIT.ok
    }))

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    webhook.command(verb)
      .description(enabled ? 'resume deliveries (pending ones go out again)' : 'stop deliveries (events are still recorded)')
      .argument('<ID>')
      .action(run(async ({ args: [id = ''], json }) => {
        printRecord(json, `Webhook ${verb}d`, await withDb(db => setWebhookEnabled(db, id, enabled)))
        return EXIT.ok
      }))
  }

  webhook.command('deliveries')
    .description('recent deliveries of a subscription, newest first')
    .argument('<ID>')
    .option('--status <STATUS>', 'pending, delivered or dead')
    .option('--limit <N>', 'how many (1 to 1000)', '50')
    .action(run(async ({ args: [id = ''], opts, json }) => {
      const limit = count(opts.limit, '--limit', 50)
      printTable(json, await withDb(db => listDeliveries(db, id, opts.status, limit)),
        ['delivery', 'type', 'status', 'attempts', 'lastStatus', 'lastError', 'createdAt', 'nextAttemptAt'])
      return EXIT.ok
    }))
}
