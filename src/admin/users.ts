// User administration (used by the CLI).
import { randomUUID } from 'node:crypto'
import { hashPassword, passwordProblem } from '../accounts/password.js'
import { EventVetoedError, type Emitter } from '../events/types.js'
import type { Outbox } from '../oauth/stores.js'
import { endAccessWrites, passwordChangeWrites } from '../storage/account-security-store.js'
import { PrismaUserStore } from '../storage/user-store.js'
import type { Db } from '../storage/prisma.js'
import { isUniqueViolation } from '../storage/errors.js'
import { AdminError } from './errors.js'

export interface UserView { id: string, username: string, name: string | null, email: string | null, enabled: boolean, createdAt: string }

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/

function view (u: { id: string, username: string, name: string | null, email: string | null, enabled: boolean, createdAt: Date }): UserView {
  return { id: u.id, username: u.username, name: u.name, email: u.email, enabled: u.enabled, createdAt: u.createdAt.toISOString() }
}

export interface CreateUserInput { username: string, password: string, name?: string, email?: string }

/** Usernames are case-insensitive: stored lower-case, and sign-in lower-cases what is typed. */
export function normalizeUsername (raw: string): string {
  const username = raw.trim().toLowerCase()
  if (!USERNAME.test(username)) {
    throw new AdminError('--username must be 1 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit')
  }
  return username
}

/** With `events`, user.created goes to the hooks (which may veto) and the webhooks. */
export async function createUser (db: Db, input: CreateUserInput, events?: Emitter): Promise<UserView> {
  const username = normalizeUsername(input.username)
  const problem = passwordProblem(input.password, username)
  if (problem !== undefined) throw new AdminError(problem)
  if (input.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(input.email)) throw new AdminError('--email is not an email address')
  const user = { id: randomUUID(), username, passwordHash: await hashPassword(input.password), name: input.name ?? null, email: input.email ?? null }
  const store = new PrismaUserStore(db)
  const insert = async (outbox: Outbox = []) => await store.createUser(user, outbox)
  try {
    const row = events === undefined
      ? await insert()
      : await events.emit('user.created', { user: { id: user.id, username, name: user.name, email: user.email }, source: 'cli' }, insert)
    return view(await db.user.findUniqueOrThrow({ where: { id: row.id } }))
  } catch (err) {
    if (isUniqueViolation(err)) throw new AdminError(`a user named "${username}" already exists`, 'CONFLICT')
    if (err instanceof EventVetoedError) throw new AdminError(`refused by a hook: ${err.reason}`, 'CONFLICT')
    throw err
  }
}

export async function listUsers (db: Db): Promise<UserView[]> {
  return (await db.user.findMany({ orderBy: { createdAt: 'asc' } })).map(view)
}

async function find (db: Db, username: string) {
  const row = await db.user.findUnique({ where: { username: username.trim().toLowerCase() } })
  if (row === null) throw new AdminError(`no user named "${username}"`, 'NOT_FOUND')
  return row
}

/**
 * Disabling also ends what the user already granted: refresh tokens stop working, and the
 * grants are revoked, so access tokens stay refused if the account is enabled again.
 */
export async function setUserEnabled (db: Db, username: string, enabled: boolean): Promise<UserView> {
  const row = await find(db, username)
  const [updated] = await db.$transaction([
    db.user.update({ where: { id: row.id }, data: { enabled } }),
    ...(enabled ? [] : endAccessWrites(db, row.id, new Date()))
  ])
  return view(updated)
}

/** A password change from the CLI: the same single transaction as on /account/security. */
export async function setUserPassword (db: Db, username: string, password: string): Promise<UserView> {
  const row = await find(db, username)
  const problem = passwordProblem(password, username)
  if (problem !== undefined) throw new AdminError(problem)
  const [updated] = await db.$transaction(passwordChangeWrites(db, row.id, await hashPassword(password), new Date()))
  return view(updated)
}
