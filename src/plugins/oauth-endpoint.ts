// Shared shape of the OAuth endpoints (RFC 6749 §3.2, RFC 8628 §3.1): form-encoded
// POST only, parameters never repeated (a string schema rejects the arrays
// @fastify/formbody makes of duplicates), responses never cached.
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, RouteHandlerMethod } from 'fastify'
import { InvalidRequestError } from '../oauth/errors.js'
import { parseBasicAuth, type ClientCredentials } from '../oauth/client-auth.js'

export function formSchema (properties: string[], required: string[] = []) {
  return {
    body: {
      type: 'object',
      properties: Object.fromEntries(properties.map(p => [p, { type: 'string', maxLength: 4096 }])),
      required
    }
  }
}

export interface OAuthPostOptions {
  /**
   * Also accept a POST with no body and no Content-Type as an empty form: devices written
   * for flask-oauth2-devices ask for codes with nothing but an Authorization header.
   */
  allowEmptyBody?: boolean
  /** Hooks run first on the request (a rate limit shared by several routes). */
  onRequest?: onRequestHookHandler
}

export function oauthPost (app: FastifyInstance, url: string, schema: object, handler: RouteHandlerMethod, config: object = {}, options: OAuthPostOptions = {}): void {
  app.route({
    method: 'POST',
    url,
    schema,
    config: { ...config, errorFormat: 'oauth' },
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
    // Before validation, so a JSON body is refused as such rather than as "missing grant_type".
    preValidation: async (request) => {
      if (options.allowEmptyBody === true && isEmptyWithoutType(request)) {
        request.body = {}
        return
      }
      if (!isFormEncoded(request)) throw new InvalidRequestError('use Content-Type: application/x-www-form-urlencoded')
    },
    onSend: async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      return payload
    },
    handler
  })
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url,
    config: { errorFormat: 'oauth' },
    handler: async (_request, reply) => {
      reply.header('allow', 'POST')
      reply.code(405).header('cache-control', 'no-store')
      return { error: 'invalid_request', error_description: 'use POST' }
    }
  })
}

function isEmptyWithoutType (request: FastifyRequest): boolean {
  return request.headers['content-type'] === undefined && request.body === undefined
}

function isFormEncoded (request: FastifyRequest): boolean {
  const type = request.headers['content-type']
  return type !== undefined && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)
}

/** `verbatimBasic`: also try Basic credentials as sent, unencoded (client-auth.ts BasicCredentials.verbatim). */
export function clientCredentials (request: FastifyRequest, verbatimBasic = false): ClientCredentials {
  const body = (request.body ?? {}) as Record<string, string | undefined>
  return {
    basic: parseBasicAuth(request.headers.authorization, verbatimBasic),
    bodyClientId: emptyToUndefined(body.client_id),
    bodyClientSecret: emptyToUndefined(body.client_secret)
  }
}

/** RFC 6749 §3.1: parameters sent without a value are treated as omitted. */
export function emptyToUndefined (v: string | undefined): string | undefined {
  return v === '' ? undefined : v
}
