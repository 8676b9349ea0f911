// Request-rate limits for the endpoints anyone can call without a secret, through
// @fastify/rate-limit. Today that is the device authorization endpoint: public client ids
// ship inside every device, so without a per-address limit one script could fill the
// MAX_LIVE_CODES capacity (the brute-force bound of RFC 8628 §5.1) and lock every real
// device out of pairing. Counters live in memory per instance, or in Redis when
// RATE_LIMIT_REDIS_URL is set, so that several instances share one budget
// (RFC-CHECKLIST "Reliability": per-process limits multiply by the number of instances).
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { InvalidRequestError, TooManyRequestsError } from '../oauth/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Redis connection behind the rate-limit counters, or null when they are in memory. */
    rateLimitRedis: Redis | null
  }
}

export default fp(async function rateLimit (app: FastifyInstance) {
  const { config } = app.codepair
  let redis: Redis | undefined
  if (config.rateLimitRedisUrl !== undefined) {
    // Fail fast per command (a limiter must not stall requests) and keep reconnecting.
    redis = new Redis(config.rateLimitRedisUrl, { connectTimeout: 3000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true })
    redis.on('error', (err: Error) => { app.log.warn({ err: { message: err.message } }, 'rate-limit Redis unavailable; limits are not enforced until it returns') })
    await redis.connect().catch(() => {}) // reported by the handler above; requests still flow
    app.addHook('onClose', async () => { redis?.disconnect() })
  }
  app.decorate('rateLimitRedis', redis ?? null)
  await app.register(fastifyRateLimit, {
    global: false,
    ...(redis === undefined ? {} : { redis, nameSpace: 'codepair-rl:' }),
    // Fail open when Redis is down: pairing keeps working, only the extra limit lapses.
    skipOnError: true,
    // The default key is request.ip (which honours TRUST_PROXY), IPv6 per /64 subnet: one
    // subscriber's prefix, so rotating addresses inside it does not multiply the budget.
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError(`too many requests from this address; retry in ${context.after}`, Math.max(1, Math.ceil(context.ttl / 1000)))
  })
}, { name: 'codepair-rate-limit' })

/**
 * One per-address budget of `max` requests a minute for every route given this hook
 * (route config gives each route its own counters, so two paths to one endpoint would
 * double the budget); undefined when max is 0.
 */
export function sharedPerMinute (app: FastifyInstance, max: number): onRequestHookHandler | undefined {
  if (max === 0) return undefined
  const limit = app.rateLimit({ max, timeWindow: 60_000 }) as unknown as (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  const hook: onRequestAsyncHookHandler = async function (request, reply) {
    // The limiter's key is request.ip, which is undefined once the client has closed its
    // connection (node forgets the socket's address): @fastify/rate-limit then throws a
    // TypeError. Nobody is left to answer, but this must not be logged as our failure.
    if (request.ip === undefined) throw new InvalidRequestError('the client closed the connection')
    await limit(request, reply)
  }
  return hook as onRequestHookHandler
}
