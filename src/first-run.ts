// The first start in development mode: a demo client and the exact next commands, so a
// newcomer gets to a device login in minutes. No user is created: there is no default
// password, ever.
import { createClient } from './admin/clients.js'
import type { Config } from './config.js'
import type { Storage } from './storage/index.js'

export const DEMO_CLIENT_NAME = 'codepair demo device'

export async function firstRunHints (config: Config, storage: Storage): Promise<string | null> {
  if (config.mode !== 'development') return null
  const [clients, users] = await Promise.all([storage.db.client.count(), storage.db.user.count()])
  if (clients > 0 && users > 0) return null
  const client = clients === 0
    ? await createClient(storage.db, { name: DEMO_CLIENT_NAME })
    : await storage.db.client.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })
  const env = config.databaseUrl === 'file:./data/codepair.db' ? '' : `DATABASE_URL='${config.databaseUrl}' `
  const lines = [
    '',
    'codepair is running in development mode. Next steps:',
    ''
  ]
  if (users === 0) {
    lines.push('  1. Create a user (you will be asked for a password):', `       ${env}npx codepair user create --username you`, '')
  }
  lines.push(
    `  ${users === 0 ? 2 : 1}. Pair a simulated device${clients === 0 ? ` (client "${DEMO_CLIENT_NAME}" was created for you)` : ''}:`,
    `       npx codepair device --client ${client.id} --issuer ${config.issuer}`,
    '',
    '     then open the link it prints, sign in and approve.',
    ''
  )
  return lines.join('\n')
}
