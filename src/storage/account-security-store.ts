// What a person's own security changes do to their other sessions and grants.
import { sha256 } from '../oauth/codes.js'
import type { Db } from './prisma.js'

export class PrismaAccountSecurityStore {
  constructor (private readonly db: Db) {}

  /**
   * New password hash; the person's refresh tokens and redeemed grants are revoked (so their
   * devices' access tokens stop at the next request too) and their other browser sessions
   * end (RFC-CHECKLIST "Tokens": revoked on password change), in one transaction.
   */
  async changePassword (userId: string, passwordHash: string, now: Date, keepSessionId?: string): Promise<void> {
    await this.db.$transaction([
      this.db.user.update({ where: { id: userId }, data: { passwordHash, passwordChangedAt: now } }),
      this.db.deviceAuthorization.updateMany({ where: { userId, status: 'consumed', revokedAt: null }, data: { revokedAt: now } }),
      this.db.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } }),
      this.endSessionsQuery(userId, keepSessionId)
    ])
  }

  /** Ends the person's browser sessions (except `keepSessionId`); how many. */
  async endSessions (userId: string, keepSessionId?: string): Promise<number> {
    return (await this.endSessionsQuery(userId, keepSessionId)).count
  }

  private endSessionsQuery (userId: string, keepSessionId?: string) {
    // Sessions are stored as JSON keyed by the SHA-256 of their id (session-store.ts).
    return this.db.session.deleteMany({
      where: { data: { contains: `"userId":"${userId}"` }, ...(keepSessionId === undefined ? {} : { id: { not: sha256(keepSessionId) } }) }
    })
  }
}
