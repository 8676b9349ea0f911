// What a person's own security changes do to their other sessions and grants.
import { sha256 } from '../oauth/codes.js'
import type { Db } from './prisma.js'

/**
 * What ends a person's access (RFC-CHECKLIST "Tokens"): redeemed grants are revoked (their
 * devices' access tokens stop at the next request), refresh tokens are revoked, and browser
 * sessions (but `keepSessionId`) end. Writes for one transaction: `user disable` uses them.
 */
export function endAccessWrites (db: Db, userId: string, now: Date, keepSessionId?: string) {
  return [
    db.deviceAuthorization.updateMany({ where: { userId, status: 'consumed', revokedAt: null }, data: { revokedAt: now } }),
    db.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } }),
    endSessionsQuery(db, userId, keepSessionId)
  ]
}

/**
 * A new password hash, and everything the old password let in ends (endAccessWrites); also,
 * approvals not yet redeemed become denials (the device hears access_denied instead of
 * collecting tokens approved with the old password). For one transaction, from the pages and
 * the CLI.
 */
export function passwordChangeWrites (db: Db, userId: string, passwordHash: string, now: Date, keepSessionId?: string) {
  return [
    db.user.update({ where: { id: userId }, data: { passwordHash, passwordChangedAt: now } }),
    db.deviceAuthorization.updateMany({ where: { userId, status: 'approved' }, data: { status: 'denied' } }),
    ...endAccessWrites(db, userId, now, keepSessionId)
  ] as [ReturnType<Db['user']['update']>, ...ReturnType<typeof endAccessWrites>]
}

/** Deletes a person's browser sessions (but `keepSessionId`): they are stored as JSON keyed by the SHA-256 of their id (session-store.ts). */
export function endSessionsQuery (db: Db, userId: string, keepSessionId?: string) {
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
