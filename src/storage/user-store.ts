import type { NewUser, Outbox, UserRecord, UserStore } from '../oauth/stores.js'
import { outboxWrites } from './outbox.js'
import type { Db } from './prisma.js'

export class PrismaUserStore implements UserStore {
  constructor (private readonly db: Db) {}

  async createUser (user: NewUser, outbox: Outbox = []): Promise<UserRecord> {
    const [row] = await this.db.$transaction([this.db.user.create({ data: user }), ...outboxWrites(this.db, outbox)])
    return row
  }

  async findUserById (id: string): Promise<UserRecord | null> {
    return await this.db.user.findUnique({ where: { id } })
  }

  async findUserByUsername (username: string): Promise<UserRecord | null> {
    return await this.db.user.findUnique({ where: { username } })
  }

  async updatePasswordHash (id: string, passwordHash: string): Promise<void> {
    await this.db.user.update({ where: { id }, data: { passwordHash } })
  }
}
