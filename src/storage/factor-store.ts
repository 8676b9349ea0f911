// Second-factor configurations and recovery codes (src/accounts/factors/types.ts).
import type { FactorRecord, FactorStore, MethodId, NewFactor, RecoveryCodeStore } from '../accounts/factors/types.js'
import type { Db } from './prisma.js'

type Row = NonNullable<Awaited<ReturnType<Db['secondFactor']['findUnique']>>>

const toRecord = (row: Row): FactorRecord => ({ ...row, method: row.method as MethodId, status: row.status as FactorRecord['status'] })

export class PrismaFactorStore implements FactorStore {
  constructor (private readonly db: Db) {}

  async create (factor: NewFactor): Promise<FactorRecord> {
    return toRecord(await this.db.secondFactor.create({ data: factor }))
  }

  async findById (id: string): Promise<FactorRecord | null> {
    const row = await this.db.secondFactor.findUnique({ where: { id } })
    return row === null ? null : toRecord(row)
  }

  async findByCredentialId (credentialId: string): Promise<FactorRecord | null> {
    const row = await this.db.secondFactor.findUnique({ where: { credentialId } })
    return row === null ? null : toRecord(row)
  }

  async listForUser (userId: string): Promise<FactorRecord[]> {
    // Oldest first; recovery codes (made with the first factor, in the same instant) after the factors themselves.
    const rows = await this.db.secondFactor.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
    return rows.map(toRecord).sort((a, b) => Number(a.method === 'recovery_codes') - Number(b.method === 'recovery_codes'))
  }

  async activate (id: string, userId: string, name: string, now: Date, lastStep?: number): Promise<boolean> {
    const { count } = await this.db.secondFactor.updateMany({
      where: { id, userId, status: 'pending' },
      data: { status: 'active', name, createdAt: now, lastUsedAt: lastStep === undefined ? undefined : now, lastStep }
    })
    return count === 1
  }

  async useStep (id: string, step: number, now: Date): Promise<boolean> {
    const { count } = await this.db.secondFactor.updateMany({
      where: { id, status: 'active', OR: [{ lastStep: null }, { lastStep: { lt: step } }] },
      data: { lastStep: step, lastUsedAt: now }
    })
    return count === 1
  }

  async useCounter (id: string, from: number, to: number, now: Date): Promise<boolean> {
    const { count } = await this.db.secondFactor.updateMany({ where: { id, status: 'active', counter: from }, data: { counter: to, lastUsedAt: now } })
    return count === 1
  }

  async touch (id: string, now: Date): Promise<void> {
    await this.db.secondFactor.updateMany({ where: { id }, data: { lastUsedAt: now } })
  }

  async rename (id: string, userId: string, name: string): Promise<boolean> {
    return (await this.db.secondFactor.updateMany({ where: { id, userId, status: 'active' }, data: { name } })).count === 1
  }

  async remove (id: string, userId: string): Promise<boolean> {
    return (await this.db.secondFactor.deleteMany({ where: { id, userId } })).count === 1
  }

  async removePending (userId: string, method: MethodId): Promise<void> {
    await this.db.secondFactor.deleteMany({ where: { userId, method, status: 'pending' } })
  }

  async removeAll (userId: string): Promise<number> {
    const [factors] = await this.db.$transaction([
      this.db.secondFactor.deleteMany({ where: { userId } }),
      this.db.recoveryCode.deleteMany({ where: { userId } })
    ])
    return factors.count
  }
}

export class PrismaRecoveryCodeStore implements RecoveryCodeStore {
  constructor (private readonly db: Db) {}

  async replace (userId: string, codeHashes: string[], now: Date): Promise<void> {
    await this.db.$transaction([
      this.db.recoveryCode.deleteMany({ where: { userId } }),
      this.db.recoveryCode.createMany({ data: codeHashes.map(codeHash => ({ id: crypto.randomUUID(), userId, codeHash, createdAt: now })) })
    ])
  }

  async use (userId: string, codeHash: string, now: Date): Promise<boolean> {
    const { count } = await this.db.recoveryCode.updateMany({ where: { userId, codeHash, usedAt: null }, data: { usedAt: now } })
    return count === 1
  }

  async remaining (userId: string): Promise<number> {
    return await this.db.recoveryCode.count({ where: { userId, usedAt: null } })
  }

  async removeAll (userId: string): Promise<void> {
    await this.db.recoveryCode.deleteMany({ where: { userId } })
  }
}
