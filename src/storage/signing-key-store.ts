import type { KeyStatus, SigningKeyRecord, SigningKeyStore } from '../oauth/signing-keys.js'
import type { Db } from './prisma.js'

export class PrismaSigningKeyStore implements SigningKeyStore {
  constructor (private readonly db: Db) {}

  async listKeys (): Promise<SigningKeyRecord[]> {
    const rows = await this.db.signingKey.findMany({ orderBy: { createdAt: 'asc' } })
    return rows.map(r => ({ ...r, status: r.status as KeyStatus }))
  }

  async insertKey (key: SigningKeyRecord): Promise<void> {
    await this.db.signingKey.create({ data: key })
  }

  async scheduleRetirement (kids: string[], retireAt: Date): Promise<void> {
    await this.db.signingKey.updateMany({ where: { kid: { in: kids }, retireAt: null }, data: { retireAt } })
  }
}
