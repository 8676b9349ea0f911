// GET /: the start-up text points people at the server's address, so a browser lands on
// the code-entry page; a machine gets a small index of where to look (RFC 8414 metadata).
import type { FastifyInstance } from 'fastify'

export default async function rootRoutes (app: FastifyInstance): Promise<void> {
  const { issuer } = app.codepair.config
  const index = JSON.stringify({
    issuer,
    authorization_server_metadata: `${issuer}/.well-known/oauth-authorization-server`,
    openid_configuration: `${issuer}/.well-known/openid-configuration`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
    token_endpoint: `${issuer}/oauth/token`,
    verification_uri: `${issuer}/activate`
  })

  app.get('/', async (request, reply) => {
    reply.header('vary', 'Accept')
    if (/\btext\/html\b/.test(request.headers.accept ?? '')) return await reply.code(303).redirect('/activate')
    return await reply.header('cache-control', 'public, max-age=300').type('application/json').send(index)
  })
}
