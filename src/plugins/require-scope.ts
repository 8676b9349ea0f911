// Resource protection (RFC 6750): `preHandler: app.requireScope('profile')` verifies the
// bearer token locally and puts the verified identity on request.identity.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { InsufficientScopeError, InvalidTokenError, OAuthError } from '../oauth/errors.js'
import type { AccessTokenClaims } from '../oauth/token-verifier.js'

export interface Identity {
  subject: string
  clientId: string
  scopes: string[]
  claims: AccessTokenClaims['claims']
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A preHandler that admits requests with a valid access token carrying every one of `scopes`. */
    requireScope: (...scopes: string[]) => preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    identity?: Identity
  }
}

export interface RequireScopeOptions {
  /** Verifies a token for this API's audience; throws InvalidTokenError. */
  verify: (token: string) => Promise<AccessTokenClaims>
  realm?: string
}

const quote = (s: string) => s.replace(/[\\"]/g, '')

/** RFC 6750 §3: no error attribute when no credentials were sent. */
export function sendBearerError (reply: FastifyReply, realm: string, err: OAuthError | null): FastifyReply {
  let challenge = `Bearer realm="${quote(realm)}"`
  if (err !== null) {
    challenge += `, error="${err.error}"`
    if (err.description !== undefined) challenge += `, error_description="${quote(err.description)}"`
    if (err instanceof InsufficientScopeError) challenge += `, scope="${quote(err.requiredScopes.join(' '))}"`
  }
  reply.code(err?.status ?? 401).header('www-authenticate', challenge).header('cache-control', 'no-store')
  return reply.send(err === null ? { error: 'invalid_request', error_description: 'a bearer access token is required' } : { error: err.error, error_description: err.description })
}

export function bearerToken (request: FastifyRequest): string | undefined | null {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  // The scheme is case-insensitive (RFC 7235 §2.1).
  const m = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim())
  return m?.[1] ?? null
}

export default fp(async function requireScope (app: FastifyInstance, opts: RequireScopeOptions) {
  const realm = opts.realm ?? 'codepair'
  app.decorateRequest('identity', undefined)
  app.decorate('requireScope', (...required: string[]): preHandlerAsyncHookHandler => {
    return async function (request, reply) {
      const token = bearerToken(request)
      if (token === undefined) return sendBearerError(reply, realm, null)
      if (token === null) return sendBearerError(reply, realm, new InvalidTokenError('malformed Authorization header'))
      let verified: AccessTokenClaims
      try {
        verified = await opts.verify(token)
      } catch (err) {
        if (err instanceof InvalidTokenError) return sendBearerError(reply, realm, err)
        throw err
      }
      const missing = required.filter(s => !verified.scopes.includes(s))
      if (missing.length > 0) {
        return sendBearerError(reply, realm, new InsufficientScopeError(`this requires the scope ${required.join(' ')}`, required))
      }
      request.identity = { subject: verified.subject, clientId: verified.clientId, scopes: verified.scopes, claims: verified.claims }
    }
  })
}, { name: 'codepair-require-scope' })
