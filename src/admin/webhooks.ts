// Webhook subscriptions (used by the CLI): create (the secret is shown once), list,
// disable/enable, and the deliveries of one subscription, dead ones included.
import { randomBytes } from 'node:crypto'
import { EVENT_TYPES } from '../events/types.js'
import { seal } from '../oauth/secret-box.js'
import { splitList } from '../oauth/scopes.js'
import type { Db } from '../storage/prisma.js'
import { AdminError } from './errors.js'

export interface WebhookView { id: string, url: string, events: string[], description: string | null, enabled: boolean, createdAt: string }
export interface CreatedWebhook extends WebhookView { secret: string }
export interface DeliveryView {
  delivery: string
  eventId: string
  type: string
  subject: string
  status: string
  attempts: number
  nextAttemptAt: string | null
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  finishedAt: string | null
}

const STATUSES = ['pending', 'delivered', 'dead']

function view (w: { id: string, url: string, events: string, description: string | null, enabled: boolean, createdAt: Date }): WebhookView {
  return { id: w.id, url: w.url, events: splitList(w.events), description: w.description, enabled: w.enabled, createdAt: w.createdAt.toISOString() }
}

export interface CreateWebhookInput { url: string, events: string, description?: string }

/**
 * `production`: only https URLs (signed payloads still travel in clear over http, and
 * say who connected which device).
 */
export async function createWebhook (db: Db, secretKey: Buffer, input: CreateWebhookInput, production: boolean): Promise<CreatedWebhook> {
  let url: URL
  try { url = new URL(input.url) } catch { throw new AdminError('--url must be an absolute http(s) URL such as https://hooks.example.com/codepair') }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AdminError('--url must be an http(s) URL')
  if (production && url.protocol !== 'https:') throw new AdminError('--url must be https in production mode')
  if (url.username !== '' || url.password !== '') throw new AdminError('--url must not carry a user name or password; the signature authenticates codepair')
  const events = [...new Set(splitList(input.events))]
  if (events.length === 0) throw new AdminError(`--events must name at least one event (or *): ${EVENT_TYPES.join(' ')}`)
  const unknown = events.filter(e => e !== '*' && !(EVENT_TYPES as readonly string[]).includes(e))
  if (unknown.length > 0) throw new AdminError(`--events: unknown event ${unknown.join(' ')}; events are ${EVENT_TYPES.join(' ')}`)
  // Standard Webhooks: a whsec_ prefixed, base64 secret of 24 to 64 bytes.
  const secret = `whsec_${randomBytes(32).toString('base64')}`
  const row = await db.webhookSubscription.create({
    data: { id: `wh_${randomBytes(9).toString('base64url')}`, url: url.toString(), events: events.join(' '), secret: seal(secretKey, secret), description: input.description ?? null }
  })
  return { ...view(row), secret }
}

export async function listWebhooks (db: Db): Promise<WebhookView[]> {
  return (await db.webhookSubscription.findMany({ orderBy: { createdAt: 'asc' } })).map(view)
}

async function find (db: Db, id: string) {
  const row = await db.webhookSubscription.findUnique({ where: { id } })
  if (row === null) throw new AdminError(`no webhook "${id}"`, 'NOT_FOUND')
  return row
}

/** A disabled webhook keeps its pending deliveries; they go out again once it is enabled. */
export async function setWebhookEnabled (db: Db, id: string, enabled: boolean): Promise<WebhookView> {
  await find(db, id)
  return view(await db.webhookSubscription.update({ where: { id }, data: { enabled } }))
}

export async function listDeliveries (db: Db, id: string, status: string | undefined, limit: number): Promise<DeliveryView[]> {
  await find(db, id)
  if (status !== undefined && !STATUSES.includes(status)) throw new AdminError(`--status must be one of ${STATUSES.join(', ')}`)
  const rows = await db.webhookDelivery.findMany({
    where: { subscriptionId: id, ...(status === undefined ? {} : { status }) },
    include: { event: { select: { type: true } } },
    orderBy: { seq: 'desc' },
    take: limit
  })
  return rows.map(d => ({
    delivery: String(d.seq),
    eventId: d.eventId,
    type: d.event.type,
    subject: d.subject,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    finishedAt: d.finishedAt?.toISOString() ?? null
  }))
}
