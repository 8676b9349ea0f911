// The event bus: one emit() per event site does three things in order —
//   1. `before` hooks of a vetoable event, awaited (each within HOOK_TIMEOUT_MS);
//   2. the change and its outbox rows (the webhook deliveries) in one transaction;
//   3. `on` hooks, started after the commit and never awaited by the request.
// In-process hooks are best-effort (a crash between 2 and 3 skips them); webhooks are
// durable, because the outbox commits or rolls back with the change it reports.
import { v7 as uuidv7 } from 'uuid'
import { randomBytesPooled } from '../oauth/random.js'
import type { Outbox, OutboxEntry } from '../oauth/stores.js'
import { runHook } from './run-hook.js'
import {
  EVENT_TYPES, EventVetoedError, VETOABLE_EVENTS,
  type CodepairEvent, type Emitter, type EventData, type EventType, type GuardHandler, type HookContext, type Hooks, type PermissionProvider, type VetoableEventType
} from './types.js'

/** Which webhook subscriptions want an event type (cached: read on every emit). */
export interface SubscriptionDirectory {
  subscribersOf (type: EventType): Promise<readonly string[]>
}

/** Writes outbox rows on their own, for events that report no database change (sign-in failed, signed out…). */
export interface OutboxWriter {
  write (outbox: Outbox): Promise<void>
}

export interface EventBusOptions {
  timeoutMs: number
  log: HookContext['log']
  clock: () => number
  subscriptions: SubscriptionDirectory
  writer: OutboxWriter
  /** Called after outbox rows were committed (wakes this instance's webhook worker). */
  onOutboxWritten?: () => void
}

/** The subject orders deliveries: events of one user, one grant… reach each webhook in order. */
export function subjectOf<K extends EventType> (type: K, data: EventData[K]): string {
  const d = data as Record<string, unknown> & { user?: { id: string } }
  if (typeof d.grantId === 'string') return `grant:${d.grantId}`
  if (d.user !== undefined) return `user:${d.user.id}`
  if (typeof d.userId === 'string') return `user:${d.userId}`
  if (type === 'user.sign_in_failed') return `username:${String(d.username).toLowerCase()}`
  if (type === 'key.rotated') return 'signing-keys'
  return 'user-codes'
}

const VETOABLE: ReadonlySet<string> = new Set(VETOABLE_EVENTS)

export class EventBus implements Emitter {
  readonly #hooks: Hooks[] = []
  readonly #running = new Set<Promise<void>>()
  readonly #observers = new Set<(event: CodepairEvent) => void>()

  constructor (private readonly options: EventBusOptions) {}

  /** Adds a set of hooks (buildApp's `hooks`, HOOKS_MODULE, or a plugin at run time). */
  use (hooks: Hooks): this {
    for (const key of Object.keys(hooks.on ?? {})) {
      if (!(EVENT_TYPES as readonly string[]).includes(key)) throw new Error(`hooks.on: unknown event "${key}"; events are ${EVENT_TYPES.join(', ')}`)
    }
    for (const key of Object.keys(hooks.before ?? {})) {
      if (!VETOABLE.has(key)) throw new Error(`hooks.before: "${key}" cannot be vetoed; vetoable events are ${VETOABLE_EVENTS.join(', ')}`)
    }
    this.#hooks.push(hooks)
    return this
  }

  /**
   * Calls `observer` synchronously with every event that happened (after its commit),
   * before the `on` hooks: for counters (src/metrics), which must not pay for a hook's
   * timer and promise on the hottest path. Returns the function that removes it.
   */
  observe (observer: (event: CodepairEvent) => void): () => void {
    this.#observers.add(observer)
    return () => { this.#observers.delete(observer) }
  }

  /** Permission providers by audience; a second provider for one audience is a mistake. */
  permissionProviders (): Map<string, PermissionProvider> {
    const providers = new Map<string, PermissionProvider>()
    for (const h of this.#hooks) {
      for (const [audience, provider] of Object.entries(h.permissions ?? {})) {
        if (providers.has(audience)) throw new Error(`hooks.permissions: two providers for ${audience}`)
        providers.set(audience, provider)
      }
    }
    return providers
  }

  async emit<K extends EventType> (type: K, data: EventData[K]): Promise<void>
  async emit<K extends EventType, T> (type: K, data: EventData[K], change: (outbox: Outbox) => Promise<T>): Promise<T>
  async emit<K extends EventType, T> (type: K, data: EventData[K], change?: (outbox: Outbox) => Promise<T>): Promise<T | undefined> {
    const at = this.options.clock()
    // Pooled randomness: device.code_issued is emitted on the hottest path (README, "Performance").
    const event: CodepairEvent<K> = { id: `evt_${uuidv7({ random: randomBytesPooled(16), msecs: at })}`, type, occurredAt: new Date(at), subject: subjectOf(type, data), data }
    if (VETOABLE.has(type)) await this.guard(event as unknown as CodepairEvent<VetoableEventType>)
    const outbox = await this.outboxFor(event)
    let result: T | undefined
    if (change !== undefined) {
      result = await change(outbox)
      if (result === false) return result
    } else if (outbox.length > 0) {
      try {
        await this.options.writer.write(outbox)
      } catch (err) {
        // Nothing to roll back with it: the request goes on, the operator is told.
        this.options.log.error({ err, event: event.id, type }, 'could not write a webhook event to the outbox')
      }
    }
    if (outbox.length > 0) this.options.onOutboxWritten?.()
    this.publish(event)
    return result
  }

  /** Resolves when every `on` hook started so far has finished or timed out (shutdown, tests). */
  async drain (): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running])
  }

  private async outboxFor (event: CodepairEvent): Promise<Outbox> {
    const subscriptionIds = await this.options.subscriptions.subscribersOf(event.type)
    if (subscriptionIds.length === 0) return []
    const entry: OutboxEntry = {
      id: event.id,
      type: event.type,
      subject: event.subject,
      occurredAt: event.occurredAt,
      // The Standard Webhooks payload shape: type, timestamp, data (plus id and subject).
      payload: JSON.stringify({ id: event.id, type: event.type, timestamp: event.occurredAt.toISOString(), subject: event.subject, data: event.data }),
      subscriptionIds
    }
    return [entry]
  }

  private async guard<K extends VetoableEventType> (event: CodepairEvent<K>): Promise<void> {
    const { log, timeoutMs } = this.options
    for (const hooks of this.#hooks) {
      const fn = hooks.before?.[event.type] as GuardHandler<K> | undefined
      if (fn === undefined) continue
      let verdict: unknown
      try {
        verdict = await runHook(ctx => fn(event, ctx), log, timeoutMs)
      } catch (err) {
        // Fail closed: a guard that cannot decide must not let the change through.
        log.error({ err, event: event.id, type: event.type }, 'a before hook failed; the change is refused')
        throw new EventVetoedError(event.type, 'a check could not be completed; try again in a moment', true)
      }
      const veto = (verdict as { veto?: unknown } | undefined)?.veto
      if (veto !== undefined && veto !== null && veto !== false) {
        log.info({ event: event.id, type: event.type }, 'a before hook vetoed the change')
        throw new EventVetoedError(event.type, typeof veto === 'string' && veto !== '' ? veto : 'refused')
      }
    }
  }

  private publish (event: CodepairEvent): void {
    const { log, timeoutMs } = this.options
    for (const observe of this.#observers) {
      try {
        observe(event)
      } catch (err) {
        log.error({ err, event: event.id, type: event.type }, 'an event observer failed')
      }
    }
    for (const hooks of this.#hooks) {
      const fn = hooks.on?.[event.type] as ((e: CodepairEvent, ctx: HookContext) => unknown) | undefined
      if (fn === undefined) continue
      const run: Promise<void> = runHook(ctx => fn(event, ctx), log, timeoutMs)
        .then(() => {}, err => { log.error({ err, event: event.id, type: event.type }, 'an event hook failed') })
        .finally(() => { this.#running.delete(run) })
      this.#running.add(run)
    }
  }
}
