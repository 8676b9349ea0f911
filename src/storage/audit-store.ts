import type { AuditEntry, AuditStore } from '../oauth/stores.js'
import type { Db } from './prisma.js'

export class PrismaAuditStore implements AuditStore {
  constructor (private readonly db: Db) {}

  async record (entry: AuditEntry, now: Date): Promise<void> {
    await this.db.auditEvent.create({
      data: {
        id: crypto.randomUUID(),
        at: now,
        type: entry.type,
        userId: entry.userId ?? null,
        clientId: entry.clientId ?? null,
        ip: entry.ip ?? null,
        detail: entry.detail === undefined ? null : JSON.stringify(entry.detail)
      }
    })
  }
}
