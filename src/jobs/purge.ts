// Background purge of expired rows in bounded batches, so one run never holds the
// database for long. Consumed device codes stay CONSUMED_RETENTION_SECONDS past their
// expiry so a replay is still recognised (and revokes what the code issued); codes that
// expired unredeemed stay EXPIRED_RETENTION_SECONDS so a late poll still hears
// expired_token, not invalid_grant.
import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../oauth/clock.js'
import type { Storage } from '../storage/index.js'
import { purgeExpiredSessions } from '../storage/session-store.js'

export const PURGE_BATCH = 500

/**
 * How long a consumed device code is kept past its expiry: CONSUMED_RETENTION_SECONDS, and
 * never less than an access token it issued may live, because requireScope and
 * introspection refuse a token whose grant row is gone (access-token-status-store.ts).
 */
export function consumedRetentionSeconds (config: { consumedRetentionSeconds: number, accessTokenTtlSeconds: number, clockToleranceSeconds: number }): number {
  return Math.max(config.consumedRetentionSeconds, config.accessTokenTtlSeconds + config.clockToleranceSeconds)
}
const MAX_BATCHES_PER_RUN = 20

/**
 * RFC 8628 §3.5: a device polling after its code expired must hear `expired_token` (start
 * again), not `invalid_grant` (which a device may treat as fatal). A device that slept or
 * lost its network polls late, so an expired code is kept an hour before it goes.
 */
export const EXPIRED_RETENTION_SECONDS = 3600

export async function purgeOnce (storage: Storage, clock: Clock, consumedRetentionSeconds: number, webhookRetentionSeconds = 604800): Promise<number> {
  const now = new Date(clock())
  const expiredBefore = new Date(now.getTime() - EXPIRED_RETENTION_SECONDS * 1000)
  const consumedBefore = new Date(now.getTime() - consumedRetentionSeconds * 1000)
  const webhooksBefore = new Date(now.getTime() - webhookRetentionSeconds * 1000)
  let total = 0
  for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
    const n = await storage.devices.purgeExpired(expiredBefore, consumedBefore, PURGE_BATCH) +
      await storage.attempts.purgeExpired(now, PURGE_BATCH) +
      await storage.refreshTokens.purgeExpired(now, PURGE_BATCH) +
      await storage.revokedTokens.purgeExpired(now, PURGE_BATCH) +
      await purgeExpiredSessions(storage.db, now, PURGE_BATCH) +
      await storage.webhooks.purgeFinished(webhooksBefore, PURGE_BATCH) +
      await storage.confirmations.purgeExpired(now, PURGE_BATCH)
    total += n
    if (n === 0) break
  }
  return total
}

/** `onRun(ok, rows)`: after each run (the metrics count runs and rows). */
export function startPurgeJob (
  storage: Storage, clock: Clock, intervalSeconds: number, retentionSeconds: number, log: FastifyBaseLogger, webhookRetentionSeconds?: number,
  onRun: (ok: boolean, rows: number) => void = () => {}
): () => void {
  if (intervalSeconds === 0) return () => {}
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    purgeOnce(storage, clock, retentionSeconds, webhookRetentionSeconds)
      .then(n => {
        onRun(true, n)
        if (n > 0) log.info({ purged: n }, 'purged expired rows')
      })
      .catch(err => {
        onRun(false, 0)
        log.warn({ err }, 'purge failed; will retry')
      })
      .finally(() => { running = false })
  }, intervalSeconds * 1000)
  timer.unref()
  return () => clearInterval(timer)
}
