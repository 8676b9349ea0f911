import type { UserRecord, UserStore } from '../oauth/stores.js'
import type { Db } from './prisma.js'

export class PrismaUserStore implements UserStore {
  constructor (private readonly db: Db) {}

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
