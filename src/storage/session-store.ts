// @fastify/session store in the database, so sessions survive restarts and work
// across instances. Rows are keyed by the SHA-256 of the session id: a copy of the
// table does not hand out live sessions.
import type { SessionStore } from '@fastify/session'
import { sha256 } from '../oauth/codes.js'
import type { Db } from './prisma.js'

type Callback = (err?: any, result?: any) => void

export class PrismaSessionStore implements SessionStore {
  constructor (private readonly db: Db, private readonly ttlMs: number, private readonly now = Date.now) {}

  set (sessionId: string, session: any, callback: Callback): void {
    const expires = session?.cookie?.expires != null ? new Date(session.cookie.expires) : new Date(this.now() + this.ttlMs)
    const id = sha256(sessionId)
    const data = JSON.stringify(session)
    this.db.session.upsert({ where: { id }, create: { id, data, expiresAt: expires }, update: { data, expiresAt: expires } })
      .then(() => callback(), callback)
  }

  get (sessionId: string, callback: Callback): void {
    this.db.session.findUnique({ where: { id: sha256(sessionId) } })
      .then(row => {
        if (row === null || row.expiresAt.getTime() <= this.now()) return callback(null, null)
        callback(null, JSON.parse(row.data))
      }, callback)
  }

  destroy (sessionId: string, callback: Callback): void {
    this.db.session.deleteMany({ where: { id: sha256(sessionId) } }).then(() => callback(), callback)
  }
}

export async function purgeExpiredSessions (db: Db, now: Date, limit: number): Promise<number> {
  const rows = await db.session.findMany({ where: { expiresAt: { lt: now } }, select: { id: true }, take: limit })
  if (rows.length === 0) return 0
  return (await db.session.deleteMany({ where: { id: { in: rows.map(r => r.id) } } })).count
}
