// Webhook subscriptions and the delivery queue over the outbox tables.
import type { EventType } from '../events/types.js'
import type { ClaimedDelivery, WebhookQueue } from '../events/webhook-worker.js'
import type { OutboxWriter, SubscriptionDirectory } from '../events/bus.js'
import type { Outbox } from '../oauth/stores.js'
import { splitList } from '../oauth/scopes.js'
import type { DatabaseTarget } from './database-url.js'
import { outboxWrites } from './outbox.js'
import type { Db } from './prisma.js'
import { TtlCache } from './ttl-cache.js'

/** timestamp(3) without time zone, as Prisma writes it: UTC wall-clock time. */
const pgTimestamp = (d: Date) => d.toISOString().replace('Z', '')

/**
 * The claim, one statement: lease the oldest due deliveries whose subscription is enabled
 * and that are the head of their subject (no older pending delivery of the same subject
 * for the same subscription), and count the attempt. On PostgreSQL, FOR UPDATE SKIP
 * LOCKED lets instances claim at once without waiting on or taking each other's rows; a
 * delivery in flight stays pending under its lease, so the next one of its subject is
 * not claimable meanwhile. SQLite serialises writers (one instance).
 */
function claimSql (dialect: DatabaseTarget['dialect']): string {
  // better-sqlite3 binds anonymous parameters in order of appearance: lease, owner, now, now, limit.
  const p = dialect === 'sqlite'
    ? { now: '?', lease: '?', owner: '?', limit: '?', enabled: '1' }
    : { now: '$1::timestamp(3)', lease: '$2::timestamp(3)', owner: '$3', limit: '$4', enabled: 'true' }
  return `UPDATE "WebhookDelivery" SET "leaseUntil" = ${p.lease}, "leaseOwner" = ${p.owner}, "attempts" = "attempts" + 1
    WHERE "seq" IN (
      SELECT d."seq" FROM "WebhookDelivery" d
      JOIN "WebhookSubscription" s ON s."id" = d."subscriptionId" AND s."enabled" = ${p.enabled}
      WHERE d."status" = 'pending' AND d."nextAttemptAt" <= ${p.now}
        AND (d."leaseUntil" IS NULL OR d."leaseUntil" <= ${p.now})
        AND NOT EXISTS (
          SELECT 1 FROM "WebhookDelivery" e
          WHERE e."subscriptionId" = d."subscriptionId" AND e."subject" = d."subject" AND e."status" = 'pending' AND e."seq" < d."seq")
      ORDER BY d."seq"
      LIMIT ${p.limit}
      ${dialect === 'postgresql' ? 'FOR UPDATE OF d SKIP LOCKED' : ''})
    RETURNING "seq"`
}

export class PrismaWebhookStore implements SubscriptionDirectory, OutboxWriter, WebhookQueue {
  readonly #cache: TtlCache<Array<{ id: string, events: string[] }>>
  readonly #claim: string

  constructor (private readonly db: Db, private readonly dialect: DatabaseTarget['dialect'], ttlMs = 5000, now = Date.now) {
    this.#cache = new TtlCache(ttlMs, now)
    this.#claim = claimSql(dialect)
  }

  /** Enabled subscriptions are cached for 5 s: a new one sees events from then on (README). */
  async subscribersOf (type: EventType): Promise<readonly string[]> {
    const all = await this.#cache.get('enabled', async () =>
      (await this.db.webhookSubscription.findMany({ where: { enabled: true }, select: { id: true, events: true } }))
        .map(s => ({ id: s.id, events: splitList(s.events) })))
    return all.filter(s => s.events.includes(type) || s.events.includes('*')).map(s => s.id)
  }

  async write (outbox: Outbox): Promise<void> {
    await this.db.$transaction(outboxWrites(this.db, outbox))
  }

  async claim (owner: string, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
    const params = this.dialect === 'sqlite'
      ? [leaseUntil.getTime(), owner, now.getTime(), now.getTime(), limit]
      : [pgTimestamp(now), pgTimestamp(leaseUntil), owner, limit]
    const rows = await this.db.$queryRawUnsafe<Array<{ seq: bigint | number }>>(this.#claim, ...params)
    if (rows.length === 0) return []
    const claimed = await this.db.webhookDelivery.findMany({
      where: { seq: { in: rows.map(r => BigInt(r.seq)) }, leaseOwner: owner },
      include: { event: { select: { payload: true } }, subscription: { select: { url: true, secret: true } } },
      orderBy: { seq: 'asc' }
    })
    return claimed.map(d => ({
      seq: d.seq,
      eventId: d.eventId,
      subscriptionId: d.subscriptionId,
      url: d.subscription.url,
      sealedSecret: d.subscription.secret,
      payload: d.event.payload,
      attempts: d.attempts
    }))
  }

  async delivered (seq: bigint, owner: string, now: Date, status: number): Promise<void> {
    await this.db.webhookDelivery.updateMany({
      where: { seq, leaseOwner: owner, status: 'pending' },
      // leaseOwner stays: which instance made the last attempt (the claim looks only at leaseUntil).
      data: { status: 'delivered', finishedAt: now, lastStatus: status, lastError: null, leaseUntil: null }
    })
  }

  async failed (seq: bigint, owner: string, now: Date, outcome: { status: number | null, error: string, retryAt: Date | null }): Promise<void> {
    await this.db.webhookDelivery.updateMany({
      where: { seq, leaseOwner: owner, status: 'pending' },
      data: {
        ...(outcome.retryAt === null ? { status: 'dead', finishedAt: now } : { nextAttemptAt: outcome.retryAt }),
        lastStatus: outcome.status,
        lastError: outcome.error,
        leaseUntil: null
      }
    })
  }

  async release (seq: bigint, owner: string): Promise<void> {
    await this.db.webhookDelivery.updateMany({
      where: { seq, leaseOwner: owner, status: 'pending' },
      data: { leaseUntil: null, leaseOwner: null, attempts: { decrement: 1 } }
    })
  }

  /** Deletes delivered and dead deliveries finished before `before`, then events nothing points at. */
  async purgeFinished (before: Date, limit: number): Promise<number> {
    const rows = await this.db.webhookDelivery.findMany({ where: { finishedAt: { lt: before } }, select: { seq: true }, take: limit })
    let n = 0
    if (rows.length > 0) n += (await this.db.webhookDelivery.deleteMany({ where: { seq: { in: rows.map(r => r.seq) } } })).count
    const orphans = await this.db.outboxEvent.findMany({ where: { occurredAt: { lt: before }, deliveries: { none: {} } }, select: { id: true }, take: limit })
    if (orphans.length > 0) n += (await this.db.outboxEvent.deleteMany({ where: { id: { in: orphans.map(o => o.id) } } })).count
    return n
  }
}
