// Wires the event bus, the permission providers and the webhook worker for one process
// (the server through buildApp, or the CLI for the events its commands cause).
import type { Config } from '../config.js'
import type { Clock } from '../oauth/clock.js'
import type { PermissionCheck } from '../oauth/token-service.js'
import type { Secrets } from '../secrets.js'
import type { Storage } from '../storage/index.js'
import { EventBus } from './bus.js'
import { loadHooksModule } from './hooks-module.js'
import { permissionCheck } from './permissions.js'
import type { HookContext, Hooks } from './types.js'
import { WebhookWorker } from './webhook-worker.js'

export interface Events {
  bus: EventBus
  permissions: PermissionCheck | undefined
  /** Starts the delivery worker when WEBHOOK_WORKER is on (the server; never the CLI). */
  startWorker (): WebhookWorker | undefined
  /** Stops only the worker: deliveries in flight are handed back uncounted (a draining server). */
  stopWorker (): Promise<void>
  /** Stops the worker (leases of deliveries in flight are released) and waits for running hooks. */
  stop (): Promise<void>
}

export async function createEvents (config: Config, storage: Storage, secrets: Secrets, log: HookContext['log'], clock: Clock, hooks: Hooks | Hooks[] = []): Promise<Events> {
  let worker: WebhookWorker | undefined
  const bus = new EventBus({
    timeoutMs: config.hookTimeoutMs,
    log,
    clock,
    subscriptions: storage.webhooks,
    writer: storage.webhooks,
    onOutboxWritten: () => worker?.wake()
  })
  if (config.hooksModule !== undefined) bus.use(await loadHooksModule(config.hooksModule))
  for (const h of Array.isArray(hooks) ? hooks : [hooks]) bus.use(h)
  return {
    bus,
    permissions: permissionCheck(bus.permissionProviders(), log, config.hookTimeoutMs),
    startWorker () {
      if (!config.webhooks.worker) return undefined
      const w = config.webhooks
      worker = new WebhookWorker(storage.webhooks, {
        timeoutMs: w.timeoutMs,
        pollMs: w.pollMs,
        batch: 10,
        maxAttempts: w.maxAttempts,
        baseSeconds: w.retryBaseSeconds,
        maxSeconds: w.retryMaxSeconds,
        secretKey: secrets.webhookSecretKey
      }, log).start()
      return worker
    },
    async stopWorker () {
      await worker?.stop()
    },
    async stop () {
      await worker?.stop()
      await bus.drain()
    }
  }
}
