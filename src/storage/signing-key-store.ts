import type { KeyStatus, SigningKeyRecord, SigningKeyStore } from '../oauth/signing-keys.js'
import type { Outbox } from '../oauth/stores.js'
import { outboxWrites } from './outbox.js'
import type { Db } from './prisma.js'

export class PrismaSigningKeyStore implements SigningKeyStore {
  constructor (private readonly db: Db) {}

  async listKeys (): Promise<SigningKeyRecord[]> {
    const rows = await this.db.signingKey.findMany({ orderBy: { createdAt: 'asc' } })
    return rows.map(r => ({ ...r, status: r.status as KeyStatus }))
  }

  async insertKey (key: SigningKeyRecord, outbox: Outbox = []): Promise<void> {
    await this.db.$transaction([this.db.signingKey.create({ data: key }), ...outboxWrites(this.db, outbox)])
  }

  async scheduleRetirement (kids: string[], retireAt: Date): Promise<void> {
    await this.db.signingKey.updateMany({ where: { kid: { in: kids }, retireAt: null }, data: { retireAt } })
  }
}
