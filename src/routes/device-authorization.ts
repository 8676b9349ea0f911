// RFC 8628 §3.1–3.2, at the standard path and at the product's own (POST /oauth/device,
// where flask-oauth2-devices' code_handler lived): one core, one rate-limit budget.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { authenticateClient } from '../oauth/client-auth.js'
import { clientCredentials, emptyToUndefined, formSchema, oauthPost } from '../plugins/oauth-endpoint.js'
import { sharedPerMinute } from '../plugins/rate-limit.js'

export default async function deviceAuthorizationRoutes (app: FastifyInstance): Promise<void> {
  const { config, storage, deviceAuthorization } = app.codepair
  const schema = formSchema(['client_id', 'client_secret', 'scope', 'resource'])
  // Shared by both paths, so alternating between them does not double an address's budget.
  const onRequest = sharedPerMinute(app, config.deviceAuthorizationRatePerIp)

  async function start (request: FastifyRequest, verbatimBasic: boolean) {
    const body = request.body as Record<string, string | undefined>
    const client = await authenticateClient(clientCredentials(request, verbatimBasic), storage.clients)
    return await deviceAuthorization.start({
      client,
      scope: emptyToUndefined(body.scope),
      resource: emptyToUndefined(body.resource),
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null
    })
  }

  oauthPost(app, '/oauth/device_authorization', schema, async (request) => await start(request, false), {}, { onRequest })

  // The RFC 8628 response plus flask-oauth2-devices' names for two of its links:
  // authorize_link, where the device polls, and activate_link, the verification URI.
  // Its devices ask with nothing but an Authorization header, and never form-encode the
  // Basic credentials: both are accepted here.
  oauthPost(app, DEVICE_PATH, schema, async (request) => {
    const response = await start(request, true)
    return { ...response, authorize_link: `${config.issuer}${DEVICE_AUTHORIZE_PATH}`, activate_link: response.verification_uri }
  }, {}, { onRequest, allowEmptyBody: true })
}

export const DEVICE_PATH = '/oauth/device'
export const DEVICE_AUTHORIZE_PATH = '/oauth/device/authorize'
