// Starts codepair and shuts it down gracefully: on SIGTERM/SIGINT stop accepting
// connections, let in-flight requests finish, close the database.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { firstRunHints } from './first-run.js'

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`codepair: ${err.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }
  const app = await buildApp(config)
  closeWithGrace({ delay: 10000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })
  await app.listen({ host: config.host, port: config.port })
  app.log.info({ issuer: config.issuer, database: config.database.dialect, mode: config.mode }, 'codepair is ready')
  const hints = await firstRunHints(config, app.codepair.storage)
  if (hints !== null) process.stderr.write(`${hints}\n`)
}

main().catch((err) => {
  process.stderr.write(`codepair: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
