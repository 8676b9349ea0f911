// RFC 7662 §2
import type { FastifyInstance } from 'fastify'
import { authenticateClient } from '../oauth/client-auth.js'
import { clientCredentials, formSchema, oauthPost } from '../plugins/oauth-endpoint.js'

export default async function introspectionRoutes (app: FastifyInstance): Promise<void> {
  const { storage, introspection } = app.codepair
  oauthPost(app, '/oauth/introspect', formSchema(['token', 'token_type_hint', 'client_id', 'client_secret'], ['token']), async (request) => {
    const { token } = request.body as { token: string }
    const client = await authenticateClient(clientCredentials(request), storage.clients)
    return await introspection.introspect(token, client)
  })
}
