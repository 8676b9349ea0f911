// What a person's own security changes do to their other sessions and grants.
import { sha256 } from '../oauth/codes.js'
import type { Db } from './prisma.js'

/**
 * A new password hash, and everything the old password let in ends (RFC-CHECKLIST "Tokens":
 * revoked on password change): redeemed grants are revoked (their devices' access tokens stop
 * at the next request), approvals not yet redeemed become denials (the device hears
 * access_denied instead of collecting tokens approved with the old password), refresh tokens
 * are revoked, and other browser sessions end. For one transaction, from the pages and the CLI.
 */
export function passwordChangeWrites (db: Db, userId: string, passwordHash: string, now: Date, keepSessionId?: string) {
  const writes: [ReturnType<Db['user']['update']>, ...Array<ReturnType<Db['deviceAuthorization']['updateMany']>>] = [
    db.user.update({ where: { id: userId }, data: { passwordHash, passwordChangedAt: now } }),
    db.deviceAuthorization.updateMany({ where: { userId, status: 'consumed', revokedAt: null }, data: { revokedAt: now } }),
    db.deviceAuthorization.updateMany({ where: { userId, status: 'approved' }, data: { status: 'denied' } }),
    db.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } }),
    endSessionsQuery(db, userId, keepSessionId)
  ]
  return writes
}

function endSessionsQuery (db: Db, userId: string, keepSessionId?: string) {
  // Sessions are stored as JSON keyed by the SHA-256 of their id (session-store.ts).
  return db.session.deleteMany({
    where: { data: { contains: `"userId":"${userId}"` }, ...(keepSessionId === undefined ? {} : { id: { not: sha256(keepSessionId) } }) }
  })
}

export class PrismaAccountSecurityStore {
  constructor (private readonly db: Db) {}

  /** See passwordChangeWrites: one transaction. */
  async changePassword (userId: string, passwordHash: string, now: Date, keepSessionId?: string): Promise<void> {
    await this.db.$transaction(passwordChangeWrites(this.db, userId, passwordHash, now, keepSessionId))
  }

  /** Ends the person's browser sessions (except `keepSessionId`); how many. */
  async endSessions (userId: string, keepSessionId?: string): Promise<number> {
    return (await endSessionsQuery(this.db, userId, keepSessionId)).count
  }
}
