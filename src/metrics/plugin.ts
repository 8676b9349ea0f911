// GET /metrics and the request hooks that feed it. Served on PORT, or with METRICS_PORT
// on a port of its own (a second, tiny server: nothing else is reachable there, and
// /metrics is then absent from PORT). Either way only peers in METRICS_ALLOW are
// answered (allow-list.ts: the socket address decides, forwarding headers only narrow).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { EXIT, OperatorError } from '../exit-codes.js'
import { OAuthError } from '../oauth/errors.js'
import { isStorageUnavailable } from '../storage/errors.js'
import { mayReadMetrics, type AllowList } from './allow-list.js'
import type { Metrics } from './metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Opens METRICS_PORT when it is set (server.ts, after listen); a no-op otherwise. */
    listenMetrics: () => Promise<void>
  }
}

export const METRICS_PATH = '/metrics'

function metricsRoute (scope: FastifyInstance, metrics: Metrics, allow: AllowList): void {
  scope.get(METRICS_PATH, {
    // In onRequest, so a refused scrape costs nothing and reads nothing. Callback style: a
    // refusal never calls `done`, so the handler cannot run even if the client hangs up
    // mid-answer (an awaited reply settles early then; see kits/resource/fastify.ts).
    onRequest: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      if (mayReadMetrics(allow, request.socket.remoteAddress, request.headers)) { done(); return }
      reply.code(403).header('cache-control', 'no-store')
        .send({ error: 'forbidden', error_description: 'metrics are served only to the addresses in METRICS_ALLOW' })
    }
  }, async (_request, reply) => {
    const text = await metrics.text()
    return await reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text)
  })
}

/** The error code an OAuth endpoint answers for `err` (error-handler.ts does the same mapping). */
function errorCode (err: Error & { validation?: unknown, statusCode?: number }): string {
  if (err instanceof OAuthError) return err.error
  if (isStorageUnavailable(err)) return 'temporarily_unavailable'
  if (err.validation !== undefined || (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)) return 'invalid_request'
  return 'server_error'
}

export default fp(async function metricsPlugin (app: FastifyInstance, opts: { metrics: Metrics | undefined }) {
  const { metrics } = opts
  const { config } = app.codepair
  let side: FastifyInstance | undefined
  app.decorate('listenMetrics', async () => {
    if (side === undefined || config.metrics.port === undefined) return
    try {
      await side.listen({ host: config.host, port: config.metrics.port })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE') throw new OperatorError(`port ${config.metrics.port} on ${config.host} is already in use (METRICS_PORT): choose another, or leave it empty to serve /metrics on PORT`, EXIT.portInUse, { cause: err })
      throw err
    }
  })
  if (metrics === undefined) return
  app.addHook('onClose', async () => { await side?.close() })

  // The route pattern, never the URL: /activate?user_code=… and unknown paths carry
  // what people type. Requests that match no route count as "unmatched".
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
  app.addHook('onError', async (request, _reply, err) => {
    if (request.routeOptions.config?.errorFormat === 'page') return
    metrics.oauthError(request.routeOptions.url ?? 'unmatched', errorCode(err))
  })

  if (config.metrics.port === undefined) {
    metricsRoute(app, metrics, config.metrics.allow)
    return
  }
  side = Fastify({ logger: false, return503OnClosing: true })
  metricsRoute(side, metrics, config.metrics.allow)
  await side.ready()
}, { name: 'codepair-metrics', dependencies: ['codepair-error-handler'] })
