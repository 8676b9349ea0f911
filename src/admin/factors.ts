// Second factors from the operator's side (codepair user factors / reset-factors,
// codepair client … --require-second-factor).
import type { Db } from '../storage/prisma.js'
import { endSessionsQuery } from '../storage/account-security-store.js'
import { PrismaClientPolicyStore } from '../storage/client-policy-store.js'
import { PrismaFactorStore } from '../storage/factor-store.js'
import { AdminError } from './errors.js'

export interface FactorView { id: string, method: string, name: string, status: string, createdAt: string, lastUsedAt: string | null, remaining?: number }

async function findUser (db: Db, username: string) {
  const row = await db.user.findUnique({ where: { username: username.trim().toLowerCase() } })
  if (row === null) throw new AdminError(`no user named "${username}"`, 'NOT_FOUND')
  return row
}

/** A person's methods (never their secrets); recovery codes with how many are unused. */
export async function listUserFactors (db: Db, username: string): Promise<FactorView[]> {
  const user = await findUser(db, username)
  const [factors, remaining] = await Promise.all([
    new PrismaFactorStore(db).listForUser(user.id),
    db.recoveryCode.count({ where: { userId: user.id, usedAt: null } })
  ])
  return factors.filter(f => f.status === 'active').map(f => ({
    id: f.id,
    method: f.method,
    name: f.name,
    status: f.status,
    createdAt: f.createdAt.toISOString(),
    lastUsedAt: f.lastUsedAt?.toISOString() ?? null,
    ...(f.method === 'recovery_codes' ? { remaining } : {})
  }))
}

/**
 * For a person who lost their devices: removes every method and recovery code and ends
 * their sessions (whoever holds one must sign in again). Devices they connected keep
 * working; `codepair user disable` ends those too.
 */
export async function resetUserFactors (db: Db, username: string, now = new Date()): Promise<{ username: string, removed: number, sessionsEnded: number }> {
  const user = await findUser(db, username)
  const removed = await new PrismaFactorStore(db).removeAll(user.id)
  const { count } = await endSessionsQuery(db, user.id)
  await db.auditEvent.create({ data: { id: crypto.randomUUID(), at: now, type: 'second_factor.reset', userId: user.id, detail: JSON.stringify({ removed, by: 'cli' }) } })
  return { username: user.username, removed, sessionsEnded: count }
}

export async function setClientRequiresSecondFactor (db: Db, clientId: string, require: boolean): Promise<void> {
  if (await db.client.findUnique({ where: { id: clientId } }) === null) throw new AdminError(`no client with id "${clientId}"`, 'NOT_FOUND')
  await new PrismaClientPolicyStore(db).setRequireSecondFactor(clientId, require)
}

export async function clientRequiresSecondFactor (db: Db, clientId: string): Promise<boolean> {
  return await new PrismaClientPolicyStore(db).requiresSecondFactor(clientId)
}
