// A demo protected API: who is calling, with which client and scopes. With the `profile`
// scope it also names the person who approved the device (OIDC Core §5.4 claims), so a
// device can say "Signed in as Alice" rather than show a subject id.
import type { FastifyInstance } from 'fastify'
import { InvalidTokenError } from '../kits/resource/errors.js'
import { sendBearerError } from '../kits/resource/fastify.js'
import { claimsFor } from '../oauth/claims.js'

export default async function apiMeRoutes (app: FastifyInstance): Promise<void> {
  const { accountGuard, clock } = app.codepair
  app.get('/api/me', { preHandler: app.requireScope() }, async (request, reply) => {
    const id = request.identity
    if (id === undefined) throw new Error('requireScope did not run')
    reply.header('cache-control', 'no-store')
    const me = { sub: id.subject, client_id: id.clientId, scope: id.scopes.join(' '), aud: id.claims.aud, exp: id.claims.exp }
    // Only a token with `profile` costs a database read (the hot path stays JWT-only).
    if (!id.scopes.includes('profile')) return me
    const user = await accountGuard.activeUser(id.subject, new Date(clock()))
    if (user === null) return sendBearerError(reply, 'codepair', new InvalidTokenError('the account is no longer active'))
    const { preferred_username: username, name } = claimsFor(user, ['profile'])
    return { ...me, preferred_username: username, ...(name === undefined ? {} : { name }) }
  })
}
