// OpenID Connect UserInfo (OIDC Core §5.3): GET or POST with a bearer token carrying `openid`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { claimsFor } from '../oauth/claims.js'
import { InvalidTokenError } from '../kits/resource/errors.js'
import { sendBearerError } from '../kits/resource/fastify.js'

export default async function userinfoRoutes (app: FastifyInstance): Promise<void> {
  const { accountGuard, clock } = app.codepair
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = request.identity
    if (identity === undefined) throw new Error('requireScope did not run')
    const user = await accountGuard.activeUser(identity.subject, new Date(clock()))
    if (user === null) return sendBearerError(reply, 'codepair', new InvalidTokenError('the account is no longer active'))
    reply.header('cache-control', 'no-store')
    return { sub: user.id, ...claimsFor(user, identity.scopes) }
  }
  const preHandler = app.requireScope('openid')
  app.get('/oauth/userinfo', { preHandler }, handler)
  // POST is allowed by OIDC Core §5.3.1; the token still comes in the Authorization header.
  app.post('/oauth/userinfo', { preHandler }, handler)
}
