// RFC 8414 authorization server metadata, OpenID Connect discovery and the JWK Set.
import type { FastifyInstance } from 'fastify'
import { CLAIMS_SUPPORTED } from '../oauth/claims.js'
import { IDENTITY_SCOPES } from '../oauth/resources.js'
import { DEVICE_AUTHORIZE_PATH, DEVICE_PATH } from './device-authorization.js'

export function metadata (issuer: string, grantTypes: string[], signingAlg: string) {
  return {
    issuer,
    device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
    token_endpoint: `${issuer}/oauth/token`,
    // RFC 8414 §2 allows extensions; no registered name fits the product's own paths
    // (flask-oauth2-devices' code_handler and authorize_handler), hence our prefix.
    codepair_device_endpoint: `${issuer}${DEVICE_PATH}`,
    codepair_device_authorize_endpoint: `${issuer}${DEVICE_AUTHORIZE_PATH}`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: grantTypes,
    // No authorization endpoint: the device flow is the only interactive flow.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: IDENTITY_SCOPES,
    claims_supported: CLAIMS_SUPPORTED,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [signingAlg],
    resource_indicators_supported: true,
    service_documentation: `${issuer}/activate`
  }
}

export default async function wellKnownRoutes (app: FastifyInstance): Promise<void> {
  const { config, grants, keys } = app.codepair
  // Built once: it only changes with the configuration.
  const body = JSON.stringify(metadata(config.issuer, grants.grantTypes, config.signingAlg))
  const send = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    await reply.header('cache-control', 'public, max-age=300').type('application/json').send(body)

  app.get('/.well-known/oauth-authorization-server', send)
  app.get('/.well-known/openid-configuration', send)

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // max-age 300: a rotated key is published KEY_PUBLISH_SECONDS (≥ 300) before it signs.
    return await reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(keys.jwks())
  })

  // The same keys as SPKI PEM blocks, the signing key first, for services that validate
  // with a PEM public key instead of a JWKS (they should read every block: a rotated-in
  // key is published here before it signs).
  app.get('/oauth/public-keys.pem', async (_request, reply) => {
    return await reply.header('cache-control', 'public, max-age=300').type('application/x-pem-file').send(keys.publicKeysPem())
  })
}
