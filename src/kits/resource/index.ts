// codepair/resource — verify codepair access tokens in any Node resource server.
export { createVerifier, DEFAULT_ALGORITHMS, looksLikeJwt, type Verifier, type VerifierOptions, type VerifiedToken } from './verifier.js'
export { createCachedRemoteJwks, type RemoteJwks, type RemoteJwksOptions } from './remote-jwks.js'
export { BearerError, InsufficientScopeError, InvalidTokenError, KeysUnavailableError } from './errors.js'
export { codepairResource, bearerToken, sendBearerError, type Identity, type ResourcePluginOptions } from './fastify.js'
