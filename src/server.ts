// Starts codepair and shuts it down gracefully: on SIGTERM/SIGINT stop accepting
// connections, let in-flight requests finish, close the database.
//
// Start-up checks the cheap things first, so the message an operator sees is about the
// real problem: the configuration (nothing touched yet), then the port, then the
// database (read-only unless --migrate finds migrations to apply).
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { nextSteps } from './first-run.js'
import { guessArithmetic } from './oauth/guess-bound.js'
import { logStream } from './logger.js'
import { ensurePortFree, listenError, reportStartupFailure } from './startup.js'
import { databaseUnavailable, isNotMigrated, notMigratedError } from './storage/errors.js'
import { migrate, notMigratedMessage, readMigrationState } from './storage/migrate.js'
import { EXIT, OperatorError } from './exit-codes.js'

async function main (): Promise<void> {
  const config = loadConfig()
  await ensurePortFree(config.host, config.port)
  if (process.argv.includes('--migrate')) {
    const { applied } = await migrate(config.database, {
      waitSeconds: config.migrateWaitSeconds,
      onProgress: line => { process.stderr.write(`codepair: ${line}\n`) }
    })
    if (applied.length > 0) process.stderr.write(`codepair: applied ${applied.length} migration${applied.length === 1 ? '' : 's'} (${applied.join(', ')})\n`)
  } else {
    const state = await readMigrationState(config.database)
    if (state.pending.length > 0) throw new OperatorError(notMigratedMessage(state), EXIT.notMigrated)
  }
  let app
  try {
    // Logs and the text below share stdout synchronously, so the text is never cut in two.
    app = await buildApp(config, { logStream: logStream(config) ?? process.stdout })
  } catch (err) {
    throw databaseUnavailable(err, config.database) ?? (isNotMigrated(err) ? notMigratedError(err) : err)
  }
  // The whole shutdown is bounded: the drain, then 10 s for in-flight requests, then exit(1).
  closeWithGrace({ delay: (config.shutdownDrainSeconds + 10) * 1000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    if (signal === 'SIGTERM' && config.shutdownDrainSeconds > 0) {
      // Readiness fails first, while requests are still served, so the load balancer
      // stops sending new ones here before the port closes (SHUTDOWN_DRAIN_SECONDS).
      await app.lifecycle.beginDrain()
      app.log.info({ seconds: config.shutdownDrainSeconds }, 'draining: /readyz answers 503')
      await new Promise(resolve => setTimeout(resolve, config.shutdownDrainSeconds * 1000))
    }
    await app.close() // stops listening; in-flight requests finish first
  })
  try {
    await app.listen({ host: config.host, port: config.port })
    await app.listenMetrics()
  } catch (err) {
    await app.close()
    throw listenError(err, config.host, config.port) ?? err
  }
  // RFC 8628 §5.1: the arithmetic behind the guessing bound, checked by loadConfig, shown to the operator.
  const bound = { userCodeLength: config.userCodeLength, maxLiveCodes: config.maxLiveCodes, anonymous: config.userCodeFailures.global, signedIn: config.userCodeFailures.signedIn }
  app.log.info(`user-code guessing bound: ${guessArithmetic(bound)} ≤ MAX_GUESS_PROBABILITY ${config.maxGuessProbability}`)
  app.log.info({ issuer: config.issuer, database: config.database.dialect, mode: config.mode }, 'codepair is ready')
  const steps = await nextSteps(config, app.codepair.storage)
  if (steps !== null) {
    process.stdout.write(`${steps}\n`)
  }
}

main().catch((err) => {
  process.exit(reportStartupFailure(err))
})
