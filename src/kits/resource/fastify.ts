// Fastify plugin on the verifier: `preHandler: app.requireScope('photos:read')` admits
// requests with a valid bearer token carrying those scopes and puts the verified
// identity on request.identity; otherwise it answers RFC 6750 errors.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { BearerError, InsufficientScopeError, InvalidTokenError, KeysUnavailableError, RevocationUnavailableError } from './errors.js'
import type { VerifiedToken, Verifier } from './verifier.js'

export interface Identity {
  subject: string
  clientId: string
  scopes: string[]
  /** The token's `permissions` claim (codepair's permission provider for this API), if any. */
  permissions?: Record<string, unknown>
  claims: VerifiedToken['claims']
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A preHandler admitting requests whose access token carries every one of `scopes`. */
    requireScope: (...scopes: string[]) => preHandlerHookHandler
  }
  interface FastifyRequest {
    identity?: Identity
  }
}

export interface ResourcePluginOptions {
  verifier: Verifier
  realm?: string
}

const quote = (s: string) => s.replace(/[\\"]/g, '')

/** RFC 6750 §3: no error attribute when no credentials were sent. */
export function sendBearerError (reply: FastifyReply, realm: string, err: BearerError | null): FastifyReply {
  let challenge = `Bearer realm="${quote(realm)}"`
  if (err !== null) {
    challenge += `, error="${err.error}"`
    if (err.description !== undefined) challenge += `, error_description="${quote(err.description)}"`
    if (err instanceof InsufficientScopeError) challenge += `, scope="${quote(err.requiredScopes.join(' '))}"`
  }
  reply.code(err?.status ?? 401).header('www-authenticate', challenge).header('cache-control', 'no-store')
  return reply.send(err === null
    ? { error: 'invalid_request', error_description: 'a bearer access token is required' }
    : { error: err.error, error_description: err.description })
}

/** undefined: no Authorization header; null: present but not a well-formed Bearer token. */
export function bearerToken (request: FastifyRequest): string | undefined | null {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  // The scheme is case-insensitive (RFC 7235 §2.1); b64token syntax (RFC 6750 §2.1).
  const m = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim())
  return m?.[1] ?? null
}

export const codepairResource = fp(async function codepairResource (app: FastifyInstance, opts: ResourcePluginOptions) {
  const realm = opts.realm ?? 'codepair'
  app.decorateRequest('identity', undefined)
  /**
   * Callback style on purpose. An async hook that answers early must `return reply`, and
   * fastify awaits that reply like a promise: when the client hangs up while the refusal is
   * still in its onSend hooks, the promise settles, fastify moves on to the next hook and
   * the route handler runs without a verified identity. A callback hook that never calls
   * `done` on refusal cannot continue (test/api/early-answer.test.ts).
   */
  async function check (request: FastifyRequest, reply: FastifyReply, required: string[]): Promise<boolean> {
    const token = bearerToken(request)
    if (token === undefined) { sendBearerError(reply, realm, null); return false }
    if (token === null) { sendBearerError(reply, realm, new InvalidTokenError('malformed Authorization header')); return false }
    try {
      const v = await opts.verifier.verify(token, { requiredScopes: required })
      request.identity = { subject: v.subject, clientId: v.clientId, scopes: v.scopes, ...(v.permissions === undefined ? {} : { permissions: v.permissions }), claims: v.claims }
      return true
    } catch (err) {
      if (err instanceof BearerError) { sendBearerError(reply, realm, err); return false }
      if (err instanceof KeysUnavailableError || err instanceof RevocationUnavailableError) {
        // Fail closed, but say it is on our side: the client may retry.
        request.log.warn({ err }, err instanceof KeysUnavailableError ? 'signing keys unavailable' : 'revocation check unavailable')
        reply.code(503).header('retry-after', '5').header('cache-control', 'no-store')
          .send({ error: 'temporarily_unavailable', error_description: 'cannot verify tokens right now' })
        return false
      }
      throw err
    }
  }
  app.decorate('requireScope', (...required: string[]): preHandlerHookHandler => {
    return function (request, reply, done) {
      check(request, reply, required).then(admitted => { if (admitted) done() }, err => { done(err as Error) })
    }
  })
}, { name: 'codepair-resource' })
