// Writing the webhook outbox inside the transaction of the change it reports
// (src/events/bus.ts decides what goes in; the stores call these in their transactions).
import type { Outbox } from '../oauth/stores.js'
import type { Db, DbTx } from './prisma.js'

function rows (outbox: Outbox) {
  // Scheduling uses the wall clock, whatever clock the app runs on: the worker compares
  // nextAttemptAt with the database's notion of now on every instance.
  const now = new Date()
  return {
    events: outbox.map(e => ({ id: e.id, type: e.type, subject: e.subject, occurredAt: e.occurredAt, payload: e.payload })),
    deliveries: outbox.flatMap(e => e.subscriptionIds.map(subscriptionId => ({
      eventId: e.id, subscriptionId, subject: e.subject, status: 'pending', nextAttemptAt: now, createdAt: now
    })))
  }
}

/** For interactive transactions: call after the change, once it is known to have happened. */
export async function writeOutbox (tx: DbTx, outbox: Outbox): Promise<void> {
  if (outbox.length === 0) return
  const r = rows(outbox)
  await tx.outboxEvent.createMany({ data: r.events })
  await tx.webhookDelivery.createMany({ data: r.deliveries })
}

/** For batch transactions ($transaction([...])): the writes to append to the batch. */
export function outboxWrites (db: Db, outbox: Outbox) {
  if (outbox.length === 0) return []
  const r = rows(outbox)
  return [db.outboxEvent.createMany({ data: r.events }), db.webhookDelivery.createMany({ data: r.deliveries })]
}

/**
 * A change that may not happen (a conditional update): with an outbox, run it in a
 * transaction and write the outbox only when `happened`; without one, run it as it is.
 */
export async function changeWithOutbox<T> (db: Db, outbox: Outbox, change: (tx: DbTx) => Promise<T>, happened: (result: T) => boolean): Promise<T> {
  if (outbox.length === 0) return await change(db)
  return await db.$transaction(async tx => {
    const result = await change(tx)
    if (happened(result)) await writeOutbox(tx, outbox)
    return result
  })
}
