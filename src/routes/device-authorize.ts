// POST /oauth/device/authorize: where the product's design (and flask-oauth2-devices'
// authorize_handler) has devices poll. It is the token endpoint's device grant under
// another path: the same client authentication, the same grant handler from the
// registry, the same answers (RFC 8628 §3.5), with grant_type implied and one addition,
// auth_code, the user code the device was shown, which must match when sent.
import type { FastifyInstance } from 'fastify'
import { authenticateClient } from '../oauth/client-auth.js'
import { UnsupportedGrantTypeError } from '../oauth/errors.js'
import { DEVICE_CODE_GRANT } from '../oauth/grant-types.js'
import { clientCredentials, emptyToUndefined, formSchema, oauthPost } from '../plugins/oauth-endpoint.js'
import { DEVICE_AUTHORIZE_PATH } from './device-authorization.js'

export default async function deviceAuthorizeRoutes (app: FastifyInstance): Promise<void> {
  const { storage, grants } = app.codepair
  const schema = formSchema(['grant_type', 'client_id', 'client_secret', 'device_code', 'auth_code'])
  oauthPost(app, DEVICE_AUTHORIZE_PATH, schema, async (request) => {
    const { grant_type: grantType, client_id: _id, client_secret: _secret, auth_code: authCode, ...params } =
      (request.body ?? {}) as Record<string, string | undefined>
    // Client authentication first, as at the token endpoint (RFC 6749 §3.2.1).
    const client = await authenticateClient(clientCredentials(request, true), storage.clients)
    const implied = emptyToUndefined(grantType) ?? DEVICE_CODE_GRANT
    if (implied !== DEVICE_CODE_GRANT) {
      throw new UnsupportedGrantTypeError(`${DEVICE_AUTHORIZE_PATH} only takes the device_code grant; use /oauth/token for others`)
    }
    return await grants.handle(DEVICE_CODE_GRANT, { params, client, ip: request.ip, userCode: emptyToUndefined(authCode) })
  }, {}, { allowEmptyBody: true })
}
