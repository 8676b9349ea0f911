import type { SigningKeyRecord, SigningKeyStore } from '../oauth/signing-keys.js'
import type { Db } from './prisma.js'

export class PrismaSigningKeyStore implements SigningKeyStore {
  constructor (private readonly db: Db) {}

  async listKeys (): Promise<SigningKeyRecord[]> {
    const rows = await this.db.signingKey.findMany({ where: { status: { not: 'retired' } }, orderBy: { createdAt: 'asc' } })
    return rows.map(r => ({ ...r, status: r.status as SigningKeyRecord['status'] }))
  }

  async insertKey (key: SigningKeyRecord): Promise<void> {
    await this.db.signingKey.create({ data: key })
  }
}
