// codepair/resource — verify codepair access tokens in any Node resource server.
export { checkScopes, createVerifier, DEFAULT_ALGORITHMS, looksLikeJwt, withRevocationCheck, type Verifier, type VerifierOptions, type VerifiedToken } from './verifier.js'
export { createIntrospectionCheck, type IntrospectionCheckOptions, type RevocationCheck } from './revocation.js'
export { createCachedRemoteJwks, type RemoteJwks, type RemoteJwksOptions } from './remote-jwks.js'
export { BearerError, InsufficientScopeError, InvalidTokenError, KeysUnavailableError, RevocationUnavailableError } from './errors.js'
export { codepairResource, bearerToken, sendBearerError, type Identity, type ResourcePluginOptions } from './fastify.js'
