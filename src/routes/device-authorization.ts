// RFC 8628 §3.1–3.2
import type { FastifyInstance } from 'fastify'
import { authenticateClient } from '../oauth/client-auth.js'
import { clientCredentials, emptyToUndefined, formSchema, oauthPost } from '../plugins/oauth-endpoint.js'
import { perMinute } from '../plugins/rate-limit.js'

export default async function deviceAuthorizationRoutes (app: FastifyInstance): Promise<void> {
  const { config, storage, deviceAuthorization } = app.codepair
  oauthPost(app, '/oauth/device_authorization', formSchema(['client_id', 'client_secret', 'scope', 'resource']), async (request) => {
    const body = request.body as Record<string, string | undefined>
    const client = await authenticateClient(clientCredentials(request), storage.clients)
    return await deviceAuthorization.start({
      client,
      scope: emptyToUndefined(body.scope),
      resource: emptyToUndefined(body.resource),
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null
    })
  }, perMinute(config.deviceAuthorizationRatePerIp))
}
