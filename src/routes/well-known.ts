// RFC 8414 authorization server metadata and the JWK Set (RFC 7517).
import type { FastifyInstance } from 'fastify'
import { DEVICE_CODE_GRANT } from '../oauth/grant-types.js'

export function metadata (issuer: string, grantTypes: string[]) {
  return {
    issuer,
    device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: grantTypes.includes(DEVICE_CODE_GRANT) ? grantTypes : [DEVICE_CODE_GRANT, ...grantTypes],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    service_documentation: `${issuer}/activate`
  }
}

export default async function wellKnownRoutes (app: FastifyInstance): Promise<void> {
  const { config, grants, keys } = app.codepair
  // Built once: it only changes with the configuration.
  const body = JSON.stringify(metadata(config.issuer, grants.grantTypes))

  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    return await reply.header('cache-control', 'public, max-age=300').type('application/json').send(body)
  })

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Short caching: verifiers refetch soon after a rotation publishes a new key.
    return await reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(keys.jwks())
  })
}
