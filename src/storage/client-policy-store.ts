// Per-client sign-in policy (codepair client create/update --require-second-factor).
import type { Db } from './prisma.js'

export class PrismaClientPolicyStore {
  constructor (private readonly db: Db) {}

  async requiresSecondFactor (clientId: string): Promise<boolean> {
    return (await this.db.clientPolicy.findUnique({ where: { clientId } }))?.requireSecondFactor ?? false
  }

  async setRequireSecondFactor (clientId: string, requireSecondFactor: boolean): Promise<void> {
    await this.db.clientPolicy.upsert({ where: { clientId }, create: { clientId, requireSecondFactor }, update: { requireSecondFactor } })
  }
}
