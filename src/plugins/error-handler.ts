// The one place where errors become responses (node-oidc-provider's err_out.js):
// OAuthError → RFC 6749 §5.2 JSON, or a friendly page on browser routes; transient
// storage failures → 503 + Retry-After; anything unexpected → server_error, logged,
// with no detail leaked.
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidRequestError, OAuthError, ServerError, TemporarilyUnavailableError, InvalidClientError, SlowDownError } from '../oauth/errors.js'
import { isStorageUnavailable } from '../storage/errors.js'
import type { TFunction } from 'i18next'
import { requestText } from './i18n.js'
import { plainHttpToHttpsIssuer, plainHttpWarning } from './pages.js'

export type ErrorFormat = 'oauth' | 'page'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How errors on this route are shown: RFC 6749 JSON (default) or an HTML page. */
    errorFormat?: ErrorFormat
  }
}

const FASTIFY_4XX_DESCRIPTIONS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request body too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'use Content-Type: application/x-www-form-urlencoded',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty request body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'use Content-Type: application/x-www-form-urlencoded'
}

export function toOAuthError (err: FastifyError | Error, request: FastifyRequest): OAuthError {
  if (err instanceof OAuthError) return err
  if (isStorageUnavailable(err)) {
    request.log.warn({ err }, 'storage unavailable')
    return new TemporarilyUnavailableError('the service is temporarily unavailable; retry shortly', 5)
  }
  const fe = err as FastifyError
  if (fe.validation !== undefined) {
    const first = fe.validation[0]
    const param = first === undefined ? '' : String((first.params as { missingProperty?: string }).missingProperty ?? first.instancePath.replace(/^\//, ''))
    const what = first?.keyword === 'required'
      ? `missing parameter: ${param}`
      : param === '' ? 'malformed request' : `parameter ${param} is invalid or repeated (RFC 6749 section 3.2: parameters must not repeat)`
    return new InvalidRequestError(what)
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new InvalidRequestError(FASTIFY_4XX_DESCRIPTIONS[fe.code] ?? 'malformed request')
  }
  request.log.error({ err }, 'unexpected error')
  return new ServerError('internal error')
}

/**
 * RFC 6749 §5.2: error_description holds only %x20-21 / %x23-5B / %x5D-7E (printable
 * ASCII without `"` and `\`); descriptions that repeat what a client sent are made to fit.
 */
export function rfc6749Description (text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?')
}

export function sendOAuthError (reply: FastifyReply, e: OAuthError): FastifyReply {
  reply.code(e.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (e instanceof InvalidClientError && e.usedBasicAuth) reply.header('www-authenticate', 'Basic realm="codepair"')
  if (e instanceof TemporarilyUnavailableError) reply.header('retry-after', String(e.retryAfterSeconds))
  const body: Record<string, unknown> = { error: e.error }
  if (e.description !== undefined) body.error_description = rfc6749Description(e.description)
  if (e instanceof SlowDownError) body.interval = e.interval
  return reply.send(body)
}

/** What a person sees for each kind of failure on the browser pages. */
function pageFor (e: OAuthError, err: FastifyError | Error, plainHttp: string | undefined, t: TFunction): { status: number, title: string, message: string } {
  const code = (err as FastifyError).code
  if ((code === 'FST_CSRF_INVALID_TOKEN' || code === 'FST_CSRF_MISSING_SECRET') && plainHttp !== undefined) {
    return { status: 403, title: t('error.httpsTitle'), message: plainHttp }
  }
  if (code === 'FST_CSRF_INVALID_TOKEN' || code === 'FST_CSRF_MISSING_SECRET') {
    return { status: 403, title: t('error.expiredTitle'), message: t('error.expiredBody') }
  }
  if (e.status === 503) return { status: 503, title: t('error.unavailableTitle'), message: t('error.unavailableBody') }
  if (e.status >= 500) return { status: 500, title: t('error.serverTitle'), message: t('error.serverBody') }
  return { status: e.status, title: t('error.badRequestTitle'), message: t('error.badRequestBody') }
}

/**
 * Requests refused before routing, by the router (a path that is not valid percent-encoded
 * UTF-8, a path parameter over its length limit): no endpoint is known yet, so the answer is
 * the RFC 6749 §5.2 shape devices understand rather than fastify's own JSON.
 */
export function frameworkErrors (err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const description = err.code === 'FST_ERR_BAD_URL'
    ? 'the request path is not valid percent-encoded UTF-8'
    : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long' : 'malformed request'
  void sendOAuthError(reply, new InvalidRequestError(description))
}

/**
 * Requests the HTTP parser refuses (bad framing, invalid header bytes, oversized headers):
 * fastify's default answers {"error":"Bad Request",…}; this one answers the RFC 6749 §5.2
 * shape, then closes the connection as node does (the stream can no longer be trusted).
 */
export function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, description] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'Request Timeout', 'the request was not received in time']
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
      : [400, 'Bad Request', 'malformed HTTP request']
  this.log.trace({ err }, 'client error')
  const body = JSON.stringify({ error: 'invalid_request', error_description: description })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

export default fp(async function errorHandler (app: FastifyInstance) {
  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const e = toOAuthError(err, request)
    if (request.routeOptions.config?.errorFormat === 'page' && typeof reply.view === 'function') {
      const { config } = app.codepair
      const text = requestText(request)
      const page = pageFor(e, err, plainHttpToHttpsIssuer(request, config) ? plainHttpWarning(request, config.issuer) : undefined, text.t)
      reply.code(page.status)
      if (e instanceof TemporarilyUnavailableError) reply.header('retry-after', String(e.retryAfterSeconds))
      // The message already says it when the page needs https: no banner above it.
      return await reply.view('message', { title: page.title, message: page.message, csrfToken: '', insecureWarning: undefined, t: text.t, lang: text.lang })
    }
    return sendOAuthError(reply, e)
  })

  app.setNotFoundHandler(async (_request, reply) => {
    return await reply.code(404).send({ error: 'not_found', error_description: 'no such endpoint' })
  })
}, { name: 'codepair-error-handler' })
