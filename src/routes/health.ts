import type { FastifyInstance } from 'fastify'

export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  // Liveness: the process answers. No database call, so a slow database never gets the process killed.
  app.get('/healthz', async () => ({ status: 'ok' }))

  // Readiness: the database answers; otherwise take this instance out of rotation.
  app.get('/readyz', async (request, reply) => {
    if (app.lifecycle.draining) {
      return await reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason: 'shutting down' })
    }
    try {
      await app.codepair.storage.ping()
      return { status: 'ready' }
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      return await reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason: 'database unreachable' })
    }
  })
}
