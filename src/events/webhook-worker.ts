// Delivers the outbox to webhook subscribers, signed per Standard Webhooks (the
// `standardwebhooks` package). Every instance may run a worker: the queue's claim
// (src/storage/webhook-store.ts) hands each delivery to one of them under a lease
// (FOR UPDATE SKIP LOCKED on PostgreSQL), and only the oldest undelivered event of a
// subject per subscription is ever claimable, so a subject's events arrive in order.
// At least once: a worker that dies mid-delivery leaves a lease that lapses, and the
// delivery is made again with the same webhook-id (receivers deduplicate on it).
import { randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { open } from '../oauth/secret-box.js'
import { retryDelayMs, type RetryPolicy } from './backoff.js'
import type { HookContext } from './types.js'

export interface ClaimedDelivery {
  seq: bigint
  eventId: string
  subscriptionId: string
  url: string
  /** The subscription's secret, sealed (secret-box.ts). */
  sealedSecret: string
  payload: string
  /** Attempts so far, this one included. */
  attempts: number
}

export interface WebhookQueue {
  /** Leases up to `limit` deliveries that are due, each the head of its subject, to `owner` until `leaseUntil`. */
  claim (owner: string, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]>
  delivered (seq: bigint, owner: string, now: Date, status: number): Promise<void>
  /** `retryAt` null: the delivery is dead. */
  failed (seq: bigint, owner: string, now: Date, outcome: { status: number | null, error: string, retryAt: Date | null }): Promise<void>
  /** Gives a lease back untouched (shutdown mid-delivery): the attempt is not counted. */
  release (seq: bigint, owner: string): Promise<void>
}

export interface WebhookWorkerSettings extends RetryPolicy {
  timeoutMs: number
  pollMs: number
  /** Deliveries in flight at once per instance. */
  batch: number
  /** Unseals subscription secrets. */
  secretKey: Buffer
}

const USER_AGENT = 'codepair-webhooks/1 (+https://www.standardwebhooks.com/)'

export class WebhookWorker {
  readonly owner = randomUUID()
  #timer: NodeJS.Timeout | undefined
  #tick: Promise<void> | undefined
  #again = false
  /** Deliveries in flight: a slow receiver holds its own slot, not the worker. */
  readonly #inflight = new Set<Promise<void>>()
  #stopped = false
  readonly #stopping = new AbortController()
  readonly #signers = new Map<string, { sealed: string, webhook: Webhook }>()

  constructor (
    private readonly queue: WebhookQueue,
    private readonly settings: WebhookWorkerSettings,
    private readonly log: HookContext['log'],
    private readonly now: () => number = Date.now
  ) {}

  start (): this {
    this.#timer = setInterval(() => this.wake(), this.settings.pollMs)
    this.#timer.unref()
    this.wake()
    return this
  }

  /** Look for due deliveries now (an event was just written), without waiting for the poll. */
  wake (): void {
    if (this.#stopped) return
    if (this.#tick !== undefined) { this.#again = true; return }
    this.#tick = this.run().finally(() => {
      this.#tick = undefined
      if (this.#again) { this.#again = false; this.wake() }
    })
  }

  /** Stops polling, abandons deliveries in flight (their leases are released) and waits for the worker to settle. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    this.#stopping.abort()
    await this.#tick
    await Promise.all([...this.#inflight])
  }

  /** Claims as many due deliveries as there are free slots and starts them; never waits for one to finish. */
  private async run (): Promise<void> {
    const free = this.settings.batch - this.#inflight.size
    if (free <= 0) return // a delivery that finishes wakes the worker
    try {
      const t = this.now()
      // The lease outlives the longest attempt with room to record its outcome; a worker
      // that died holds a delivery this long at most.
      const leaseUntil = new Date(t + this.settings.timeoutMs + 5000)
      const claimed = await this.queue.claim(this.owner, new Date(t), leaseUntil, free)
      for (const d of claimed) {
        const running: Promise<void> = this.deliver(d)
          .catch(err => { this.log.warn({ err, delivery: String(d.seq) }, 'webhook worker: could not record a delivery; its lease will lapse and it will be retried') })
          .finally(() => { this.#inflight.delete(running); this.wake() })
        this.#inflight.add(running)
      }
      if (claimed.length === free) this.#again = true
    } catch (err) {
      this.log.warn({ err }, 'webhook worker: could not read the outbox; will retry')
    }
  }

  private signer (d: ClaimedDelivery): Webhook {
    const cached = this.#signers.get(d.subscriptionId)
    if (cached?.sealed === d.sealedSecret) return cached.webhook
    const webhook = new Webhook(open(this.settings.secretKey, d.sealedSecret))
    this.#signers.set(d.subscriptionId, { sealed: d.sealedSecret, webhook })
    return webhook
  }

  private async deliver (d: ClaimedDelivery): Promise<void> {
    const sentAt = new Date(this.now())
    let status: number | null = null
    let error: string
    try {
      // Standard Webhooks: the id is the event's (idempotency key), the timestamp is this attempt's.
      const signature = this.signer(d).sign(d.eventId, sentAt, d.payload)
      const res = await fetch(d.url, {
        method: 'POST',
        body: d.payload,
        redirect: 'manual', // a redirect is a misconfiguration, not a place to send signed events
        signal: AbortSignal.any([AbortSignal.timeout(this.settings.timeoutMs), this.#stopping.signal]),
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': d.eventId,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signature
        }
      })
      status = res.status
      await res.body?.cancel().catch(() => {})
      if (res.status >= 200 && res.status < 300) {
        await this.queue.delivered(d.seq, this.owner, new Date(this.now()), res.status)
        return
      }
      error = `HTTP ${res.status}`
    } catch (err) {
      if (this.#stopping.signal.aborted) {
        await this.queue.release(d.seq, this.owner).catch(() => {})
        return
      }
      const e = err as Error
      error = e.name === 'TimeoutError' ? `no answer within ${this.settings.timeoutMs} ms` : `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`
    }
    const dead = d.attempts >= this.settings.maxAttempts
    const retryAt = dead ? null : new Date(this.now() + retryDelayMs(d.attempts, this.settings))
    this.log.warn({ delivery: String(d.seq), event: d.eventId, subscription: d.subscriptionId, attempts: d.attempts, status, dead }, `webhook delivery failed: ${error}`)
    await this.queue.failed(d.seq, this.owner, new Date(this.now()), { status, error: error.slice(0, 500), retryAt })
  }
}
