import type { RevokedTokenStore } from '../oauth/stores.js'
import type { Db } from './prisma.js'

export class PrismaRevokedTokenStore implements RevokedTokenStore {
  constructor (private readonly db: Db) {}

  async revoke (jti: string, expiresAt: Date): Promise<void> {
    await this.db.revokedToken.upsert({ where: { jti }, create: { jti, expiresAt }, update: {} })
  }

  async isRevoked (jti: string): Promise<boolean> {
    return (await this.db.revokedToken.findUnique({ where: { jti } })) !== null
  }

  async purgeExpired (now: Date, limit: number): Promise<number> {
    const rows = await this.db.revokedToken.findMany({ where: { expiresAt: { lt: now } }, select: { jti: true }, take: limit })
    if (rows.length === 0) return 0
    return (await this.db.revokedToken.deleteMany({ where: { jti: { in: rows.map(r => r.jti) } } })).count
  }
}
