// RFC 7009 §2
import type { FastifyInstance } from 'fastify'
import { authenticateClient } from '../oauth/client-auth.js'
import { clientCredentials, formSchema, oauthPost } from '../plugins/oauth-endpoint.js'

export default async function revocationRoutes (app: FastifyInstance): Promise<void> {
  const { storage, revocation } = app.codepair
  oauthPost(app, '/oauth/revoke', formSchema(['token', 'token_type_hint', 'client_id', 'client_secret'], ['token']), async (request, reply) => {
    const { token } = request.body as { token: string }
    const client = await authenticateClient(clientCredentials(request), storage.clients)
    await revocation.revoke(token, client)
    return await reply.code(200).send()
  })
}
