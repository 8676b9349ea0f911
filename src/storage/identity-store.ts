// External identities (upstream sign-in): (provider, subject) → one local account.
import type { NewUser, Outbox, UserRecord } from '../oauth/stores.js'
import type { ExternalIdentityRecord, IdentityStore, NewExternalIdentity } from '../upstream/accounts.js'
import { outboxWrites } from './outbox.js'
import type { Db } from './prisma.js'

export class PrismaIdentityStore implements IdentityStore {
  constructor (private readonly db: Db) {}

  async findLinked (provider: string, subject: string): Promise<{ identity: ExternalIdentityRecord, user: UserRecord } | null> {
    const row = await this.db.externalIdentity.findUnique({ where: { provider_subject: { provider, subject } }, include: { user: true } })
    if (row === null) return null
    const { user, ...identity } = row
    return { identity, user }
  }

  async usersWithEmail (email: string): Promise<UserRecord[]> {
    // LOWER() on both sides: the same query on SQLite and PostgreSQL (User.email has no
    // index; this runs once per first upstream sign-in, not per request).
    const ids = await this.db.$queryRaw<Array<{ id: string }>>`SELECT "id" FROM "User" WHERE LOWER("email") = ${email.toLowerCase()} LIMIT 10`
    if (ids.length === 0) return []
    return await this.db.user.findMany({ where: { id: { in: ids.map(r => r.id) } } })
  }

  async identitiesOf (userId: string): Promise<ExternalIdentityRecord[]> {
    return await this.db.externalIdentity.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } })
  }

  async usernameTaken (username: string): Promise<boolean> {
    return await this.db.user.findUnique({ where: { username }, select: { id: true } }) !== null
  }

  async createUserWithIdentity (user: NewUser, identity: Omit<NewExternalIdentity, 'userId'>, outbox: Outbox): Promise<UserRecord> {
    const [row] = await this.db.$transaction([
      this.db.user.create({ data: user }),
      this.db.externalIdentity.create({ data: { ...identity, userId: user.id } }),
      ...outboxWrites(this.db, outbox)
    ])
    return row
  }

  async link (identity: NewExternalIdentity): Promise<ExternalIdentityRecord> {
    return await this.db.externalIdentity.create({ data: identity })
  }

  async unlink (provider: string, subject: string): Promise<ExternalIdentityRecord | null> {
    const row = await this.db.externalIdentity.findUnique({ where: { provider_subject: { provider, subject } } })
    if (row === null) return null
    await this.db.externalIdentity.delete({ where: { id: row.id } })
    return row
  }

  async recordSignIn (id: string, email: string | null, at: Date): Promise<void> {
    await this.db.externalIdentity.update({ where: { id }, data: { lastLoginAt: at, ...(email === null ? {} : { email }) } })
  }
}
