import type { Db } from './prisma.js'

/** Returns the stored value, creating it with `make()` on first use (first writer wins across instances). */
export async function getOrCreateSetting (db: Db, key: string, make: () => string): Promise<string> {
  const existing = await db.setting.findUnique({ where: { key } })
  if (existing !== null) return existing.value
  try {
    await db.setting.create({ data: { key, value: make() } })
  } catch { /* another instance created it first */ }
  const row = await db.setting.findUnique({ where: { key } })
  if (row === null) throw new Error(`setting ${key} could not be stored`)
  return row.value
}
