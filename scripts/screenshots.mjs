// README screenshots of the confirmation page in two languages and in dark mode:
//   npm run build && node scripts/screenshots.mjs
// Runs the built server on a throwaway SQLite database and Debian's Chromium (CHROMIUM_PATH),
// signs in as a demo user and writes docs/screenshots/confirm-*.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { buildApp } from '../dist/app.js'
import { createClient } from '../dist/admin/clients.js'
import { createUser } from '../dist/admin/users.js'
import { loadConfig } from '../dist/config.js'
import { migrateDatabase } from '../dist/storage/migrate.js'

const ROOT = new URL('../', import.meta.url).pathname
const OUT = join(ROOT, 'docs', 'screenshots')
const SHOTS = [
  { file: 'confirm-en-light.png', locale: 'en-GB', colorScheme: 'light' },
  { file: 'confirm-de-light.png', locale: 'de-DE', colorScheme: 'light' },
  { file: 'confirm-en-dark.png', locale: 'en-GB', colorScheme: 'dark' },
  { file: 'confirm-es-dark.png', locale: 'es-ES', colorScheme: 'dark' }
]
const PASSWORD = 'correct horse battery staple'

const dir = mkdtempSync(join(tmpdir(), 'codepair-screenshots-'))
const databaseUrl = `file:${join(dir, 'codepair.db')}`
const migrated = migrateDatabase(databaseUrl)
if (!migrated.ok) throw new Error(migrated.output)
const port = 20000 + Math.floor(Math.random() * 12000) // below the ephemeral port range
const issuer = `http://127.0.0.1:${port}`
const config = loadConfig({ DATABASE_URL: databaseUrl, ISSUER: issuer, PORT: String(port), LOG_LEVEL: 'warn', SECRET_KEY: 'screenshots-only-secret-key-0123456789abcdef', PURGE_INTERVAL_SECONDS: '0' })
const app = await buildApp(config)
await app.listen({ host: '127.0.0.1', port })
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
try {
  const { db } = app.codepair.storage
  const client = await createClient(db, { name: 'Living Room TV', scopes: 'openid profile offline_access' })
  await createUser(db, { username: 'alice', password: PASSWORD, name: 'Alice Example' })
  mkdirSync(OUT, { recursive: true })
  for (const shot of SHOTS) {
    const res = await fetch(`${issuer}/oauth/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'LivingRoomTV/2.1' },
      body: new URLSearchParams({ client_id: client.id, scope: 'openid profile offline_access' })
    })
    const auth = await res.json()
    // locale sets Accept-Language: the page picks its language the way a visitor's browser makes it.
    const context = await browser.newContext({ viewport: { width: 720, height: 900 }, locale: shot.locale, colorScheme: shot.colorScheme })
    const page = await context.newPage()
    await page.goto(auth.verification_uri_complete)
    await page.click('button[type=submit]')
    await page.waitForURL(/\/login$/)
    await page.fill('#username', 'alice')
    await page.fill('#password', PASSWORD)
    await page.click('button[type=submit]')
    await page.waitForURL(/\/activate\/confirm$/)
    await page.screenshot({ path: join(OUT, shot.file), fullPage: true })
    await context.close()
    console.log(`docs/screenshots/${shot.file}`)
  }
} finally {
  await browser.close()
  await app.close()
  rmSync(dir, { recursive: true, force: true })
}
