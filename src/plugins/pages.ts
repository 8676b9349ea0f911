// Everything the browser pages need and the JSON endpoints do not: cookies, sessions
// in the database, CSRF tokens, templates and strict security headers. Registered in
// its own encapsulated scope so the device-facing endpoints skip all of it.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifyHelmet from '@fastify/helmet'
import fastifySession from '@fastify/session'
import fastifyView from '@fastify/view'
import { Eta } from 'eta'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Config } from '../config.js'
import fp from 'fastify-plugin'
import { PrismaSessionStore } from '../storage/session-store.js'
import i18n, { requestText } from './i18n.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** CSRF check for page forms (preHandler); refuses without ever running the handler. */
    requireCsrf: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  }
  interface Session {
    /** Signed-in user id, set after a successful sign-in (the session id is regenerated then). */
    userId?: string
    /** The device authorization the person entered a code for, waiting for a decision. */
    activation?: { id: string, userCode: string }
    /** Stable random id for the per-session code-entry budget, kept across regeneration. */
    visitor?: string
    /** The last decision, shown by GET /activate/done after the POST redirects there. */
    decided?: 'approve' | 'deny'
    /** Where sign-in leads when no activation is waiting: only known pages, never a URL (open redirect). */
    returnTo?: 'devices' | 'security' | 'activate'
    /** A code typed while anonymous code entry was paused, filled in again after sign-in. */
    pendingCode?: string
  }
}

/**
 * An https ISSUER reached over plain http with no TLS proxy in front (TRUST_PROXY off and
 * no X-Forwarded-Proto: https): codepair serves no TLS itself, and the browser never sends
 * its Secure session cookie back over http, so every form would fail as "expired".
 */
export function plainHttpToHttpsIssuer (request: FastifyRequest, config: Pick<Config, 'secureCookies' | 'trustProxy'>): boolean {
  return config.secureCookies && config.trustProxy === false && request.protocol === 'http' && request.headers['x-forwarded-proto'] !== 'https'
}

export function plainHttpWarning (request: FastifyRequest, issuer: string): string {
  return requestText(request).t('error.plainHttp', { issuer })
}

/** Route config for browser pages: errors render as a page, not RFC 6749 JSON. */
export const PAGE_ROUTE = { errorFormat: 'page' } as const

export const VIEWS_DIR = fileURLToPath(new URL('../../views', import.meta.url))

export default fp(async function pages (app: FastifyInstance) {
  const { config, secrets, storage } = app.codepair

  await app.register(fastifyHelmet, {
    // RFC 9700 §4.16 and RFC-CHECKLIST "Pages": no framing, no inline script, no referrer.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"]
      }
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: config.secureCookies ? { maxAge: 31536000 } : false,
    crossOriginEmbedderPolicy: false
  })

  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: secrets.cookieKey.toString('base64url'),
    // __Host-: Secure, Path=/, no Domain — the cookie cannot be planted by a sibling subdomain.
    cookieName: config.secureCookies ? '__Host-codepair' : 'codepair',
    cookie: { secure: config.secureCookies, httpOnly: true, sameSite: 'lax', path: '/', maxAge: config.sessionTtlSeconds * 1000 },
    store: new PrismaSessionStore(storage.db, config.sessionTtlSeconds * 1000),
    saveUninitialized: false,
    idGenerator: () => randomBytes(32).toString('base64url')
  })
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/session',
    getToken: (request) => (request.body as { _csrf?: string } | undefined)?._csrf
  })
  // @fastify/csrf-protection refuses with `return reply.send(err)`; fastify awaits that reply
  // like a promise, and when the client hangs up while the refusal page is still in its
  // onSend hooks (the session save), the promise settles and fastify runs the route handler:
  // the form's action without a valid token, and two answers racing on one response.
  // Called without exposing its return value, the check can only continue through `done`.
  const csrfProtection = app.csrfProtection
  app.decorate('requireCsrf', function (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    csrfProtection.call(app, request, reply, done)
  })
  await app.register(fastifyView, {
    // Every template gets `t` (the page's translator, from reply.locals) as a plain name.
    engine: { eta: new Eta({ autoEscape: true, functionHeader: 'const t = it.t;' }) },
    root: VIEWS_DIR,
    viewExt: 'eta',
    production: true, // templates are read once
    defaultContext: { issuer: config.issuer, brand: { name: config.brand.name, logo: config.brand.logo !== undefined, supportUrl: config.brand.supportUrl } }
  })
  // After @fastify/view, whose own onRequest hook resets reply.locals.
  await app.register(i18n, { config })

  let warned = false
  app.addHook('onRequest', async (request, reply) => {
    if (!plainHttpToHttpsIssuer(request, config)) return
    // @fastify/view merges reply.locals into every template's data (its types omit it).
    const withLocals = reply as unknown as { locals?: Record<string, unknown> }
    withLocals.locals = { ...withLocals.locals, insecureWarning: plainHttpWarning(request, config.issuer) }
    if (!warned) {
      warned = true
      request.log.warn(`a page was requested over plain http but ISSUER is ${config.issuer} and TRUST_PROXY is off: browsers drop Secure cookies on http, so forms fail with "This form has expired". Serve codepair behind a TLS proxy and set TRUST_PROXY, or use an http ISSUER for local testing`)
    }
  })

  app.addHook('onSend', async (_request, reply, payload) => {
    // Pages carry user codes and CSRF tokens: never cache them.
    reply.header('cache-control', 'no-store')
    return payload
  })
}, { name: 'codepair-pages' })
