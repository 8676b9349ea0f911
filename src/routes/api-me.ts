// A demo protected API: who is calling, with which client and scopes.
import type { FastifyInstance } from 'fastify'

export default async function apiMeRoutes (app: FastifyInstance): Promise<void> {
  app.get('/api/me', { preHandler: app.requireScope() }, async (request, reply) => {
    const id = request.identity
    if (id === undefined) throw new Error('requireScope did not run')
    reply.header('cache-control', 'no-store')
    return { sub: id.subject, client_id: id.clientId, scope: id.scopes.join(' '), aud: id.claims.aud, exp: id.claims.exp }
  })
}
