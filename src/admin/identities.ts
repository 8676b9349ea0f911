// External identities of an account (upstream sign-in), for operators: list, link, unlink.
// Linking is how `existing-only` providers let people in, and how a person whose e-mail the
// provider does not verify is connected to their account.
import { randomUUID } from 'node:crypto'
import type { UpstreamProviderConfig } from '../upstream/config.js'
import { isUniqueViolation } from '../storage/errors.js'
import type { Db } from '../storage/prisma.js'
import { AdminError } from './errors.js'

export interface IdentityView { username: string, provider: string, subject: string, email: string | null, createdAt: string, lastLoginAt: string | null }

async function findUser (db: Db, username: string) {
  const row = await db.user.findUnique({ where: { username: username.trim().toLowerCase() } })
  if (row === null) throw new AdminError(`no user named "${username}"`, 'NOT_FOUND')
  return row
}

function view (username: string, i: { provider: string, subject: string, email: string | null, createdAt: Date, lastLoginAt: Date | null }): IdentityView {
  return { username, provider: i.provider, subject: i.subject, email: i.email, createdAt: i.createdAt.toISOString(), lastLoginAt: i.lastLoginAt?.toISOString() ?? null }
}

export async function listIdentities (db: Db, username: string): Promise<IdentityView[]> {
  const user = await findUser(db, username)
  const rows = await db.externalIdentity.findMany({ where: { userId: user.id }, orderBy: { createdAt: 'asc' } })
  return rows.map(r => view(user.username, r))
}

/**
 * `providers`: the configured ones (UPSTREAM_PROVIDERS_FILE), so a typo in --provider is
 * refused instead of creating a link nobody can ever use.
 */
export async function linkIdentity (db: Db, providers: readonly UpstreamProviderConfig[], username: string, provider: string, subject: string): Promise<IdentityView> {
  if (!providers.some(p => p.name === provider)) {
    const known = providers.map(p => p.name).join(', ')
    throw new AdminError(`no provider named "${provider}" in UPSTREAM_PROVIDERS_FILE${known === '' ? ' (it lists none)' : ` (it lists ${known})`}`)
  }
  if (subject.trim() === '' || subject.length > 255) throw new AdminError('--subject must be the provider\'s `sub` for the person (1 to 255 characters)')
  const user = await findUser(db, username)
  try {
    const row = await db.externalIdentity.create({ data: { id: randomUUID(), provider, subject, userId: user.id } })
    return view(user.username, row)
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    const owner = await db.externalIdentity.findUnique({ where: { provider_subject: { provider, subject } }, include: { user: true } })
    throw new AdminError(owner?.userId === user.id
      ? `${provider} ${subject} is already linked to "${user.username}"`
      : `${provider} ${subject} is already linked to "${owner?.user.username ?? 'another user'}"; unlink it there first`, 'CONFLICT')
  }
}

/** Only the named user's link is removed (a wrong NAME is refused, never another person's). */
export async function unlinkIdentity (db: Db, username: string, provider: string, subject: string): Promise<IdentityView> {
  const user = await findUser(db, username)
  const row = await db.externalIdentity.findUnique({ where: { provider_subject: { provider, subject } } })
  if (row === null || row.userId !== user.id) throw new AdminError(`"${user.username}" has no ${provider} identity ${subject}`, 'NOT_FOUND')
  await db.externalIdentity.delete({ where: { id: row.id } })
  return view(user.username, row)
}
