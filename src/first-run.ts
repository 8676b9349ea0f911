// Development starts end with the exact next commands, so a newcomer gets to a device
// login in minutes and finds them again after a restart. The first start also creates
// a demo client. No user is created: there is no default password, ever.
import { createClient } from './admin/clients.js'
import type { Config } from './config.js'
import { DEFAULT_DATABASE_URL } from './storage/database-url.js'
import type { Storage } from './storage/index.js'

export const DEMO_CLIENT_NAME = 'codepair demo device'

export async function nextSteps (config: Config, storage: Storage): Promise<string | null> {
  if (config.mode !== 'development') return null
  const users = await storage.db.user.count()
  const existing = await storage.db.client.findFirst({ where: { name: DEMO_CLIENT_NAME, enabled: true }, orderBy: { createdAt: 'asc' } }) ??
    await storage.db.client.findFirst({ where: { enabled: true }, orderBy: { createdAt: 'asc' } })
  const client = existing ?? await createClient(storage.db, { name: DEMO_CLIENT_NAME })
  const env = config.databaseUrl === DEFAULT_DATABASE_URL ? '' : `DATABASE_URL='${config.databaseUrl}' `
  const lines = [
    '',
    `codepair is running in development mode at ${config.issuer}. Next steps:`,
    ''
  ]
  let step = 1
  if (users === 0) {
    lines.push(`  ${step++}. Create a user (you will be asked for a password):`, `       ${env}npx codepair user create --username you`, '')
  }
  lines.push(
    `  ${step++}. Pair a simulated device${existing === null ? ` (client "${DEMO_CLIENT_NAME}" was created for you)` : ` (client "${client.name}")`}:`,
    `       npx codepair device --client ${client.id} --issuer ${config.issuer}`,
    '',
    `     then open the link it prints, sign in and approve. Your devices: ${config.issuer}/account/devices`,
    ''
  )
  return lines.join('\n')
}
