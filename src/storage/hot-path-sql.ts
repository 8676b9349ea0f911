// The SQL of the hot path (hot-path.ts), shared by the SQLite and PostgreSQL drivers.
import type { DeviceStatus, PollResult } from '../oauth/stores.js'

export const COLUMNS = '"id", "deviceCodeHash", "userCodeHash", "clientId", "scope", "resource", "status", "createdAt", "expiresAt", "intervalSeconds", "requestIp", "userAgent"'

/**
 * RFC 8628 §3.5 in one statement. A poll is on time when none was accepted before or
 * the interval (less the leeway) has passed since the last accepted one; on time, it
 * records itself (lastPollAt, pollNonce); too early, it adds `step` seconds to the
 * interval. SET expressions read the row as it was, and the row lock (PostgreSQL) or
 * the database lock (SQLite) orders concurrent polls, so of two simultaneous polls the
 * second sees the first's lastPollAt and is too early. The RETURNING row tells the
 * caller which happened: its own nonce means accepted. Unknown, foreign, consumed,
 * revoked and expired codes match no row; the caller then looks at why.
 */
export function pollSql (onTime: string, p: (name: 'now' | 'step' | 'nonce' | 'hash' | 'client') => string, from = ''): string {
  return `UPDATE "DeviceAuthorization" SET
      "lastPollAt" = CASE WHEN ${onTime} THEN ${p('now')} ELSE "lastPollAt" END,
      "pollNonce" = CASE WHEN ${onTime} THEN ${p('nonce')} ELSE "pollNonce" END,
      "intervalSeconds" = CASE WHEN ${onTime} THEN "intervalSeconds" ELSE "intervalSeconds" + ${p('step')} END
    ${from}WHERE "deviceCodeHash" = ${p('hash')} AND "clientId" = ${p('client')} AND "status" <> 'consumed'
      AND "revokedAt" IS NULL AND "expiresAt" > ${p('now')}
    RETURNING "id", "status", "intervalSeconds", "pollNonce", "userId", "scope", "resource", "decidedAt"`
}

export interface Row { id: string, status: string, intervalSeconds: number, pollNonce: string | null, userId: string | null, scope: string, resource: string | null, decidedAt: number | string | Date | null }

export const toResult = (row: Row | undefined, nonce: string): PollResult | null => row === undefined
  ? null
  : {
      accepted: row.pollNonce === nonce,
      id: row.id,
      status: row.status as DeviceStatus,
      intervalSeconds: row.intervalSeconds,
      userId: row.userId,
      scope: row.scope,
      resource: row.resource,
      decidedAt: row.decidedAt === null ? null : new Date(typeof row.decidedAt === 'string' ? Number(row.decidedAt) : row.decidedAt)
    }
