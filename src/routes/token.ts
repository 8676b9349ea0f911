// RFC 6749 §3.2 token endpoint: authenticate the client, then dispatch on grant_type.
import type { FastifyInstance } from 'fastify'
import { authenticateClient } from '../oauth/client-auth.js'
import { clientCredentials, formSchema, oauthPost } from '../plugins/oauth-endpoint.js'

export default async function tokenRoutes (app: FastifyInstance): Promise<void> {
  const { storage, grants } = app.codepair
  const schema = formSchema(['grant_type', 'client_id', 'client_secret', 'device_code', 'refresh_token', 'scope', 'resource'], ['grant_type'])
  oauthPost(app, '/oauth/token', schema, async (request) => {
    const { grant_type: grantType, client_id: _id, client_secret: _secret, ...params } = request.body as Record<string, string | undefined>
    const client = await authenticateClient(clientCredentials(request), storage.clients)
    return await grants.handle(grantType ?? '', { params, client, ip: request.ip })
  })
}
