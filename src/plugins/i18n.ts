// Page languages: picks the language of each page request (src/i18n/negotiate.ts), remembers
// an explicit choice (?lang=de) in a cookie, and hands every template `t`, `lang` and the
// language switcher through reply.locals, so a new page needs no wiring to be translated.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { CATALOGUES, LANGUAGES } from '../i18n/catalogues.js'
import { chooseLanguage, LANGUAGE_COOKIE, LANGUAGE_PARAM, supported } from '../i18n/negotiate.js'
import { pageText, type PageText } from '../i18n/page-text.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The page's language, translator and formatters (set on browser pages only). */
    i18n: PageText
  }
}

export interface LanguageLink { code: string, name: string, href: string, current: boolean }

const ONE_YEAR_SECONDS = 365 * 24 * 3600

/** The language of a request, also where the page hook did not run (errors before it). */
export function requestText (request: FastifyRequest): PageText {
  const set = (request as { i18n?: PageText }).i18n
  if (set !== undefined && set !== null) return set
  const query = (request.query ?? {}) as Record<string, unknown>
  return pageText(chooseLanguage({ query: query[LANGUAGE_PARAM], cookie: request.cookies?.[LANGUAGE_COOKIE], acceptLanguage: request.headers['accept-language'] }))
}

/** Links to this same page in each language: GETs keep their query (a pre-filled code stays). */
function languageLinks (request: FastifyRequest, current: string): LanguageLink[] {
  const url = new URL(request.url, 'http://page.invalid')
  if (request.method !== 'GET') url.search = ''
  return LANGUAGES.map(code => {
    url.searchParams.set(LANGUAGE_PARAM, code)
    const name = (CATALOGUES[code]?.language as { name?: string } | undefined)?.name ?? code
    return { code, name, href: url.pathname + url.search, current: code === current }
  })
}

export default fp(async function i18n (app: FastifyInstance, opts: { config: Pick<Config, 'secureCookies'> }) {
  app.decorateRequest('i18n', null as unknown as PageText)
  app.addHook('onRequest', async (request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>
    const chosen = supported(query[LANGUAGE_PARAM])
    const lang = chooseLanguage({ query: chosen, cookie: request.cookies[LANGUAGE_COOKIE], acceptLanguage: request.headers['accept-language'] })
    if (chosen !== undefined && chosen !== request.cookies[LANGUAGE_COOKIE]) {
      // A preference, not a credential: readable by no script, sent on top-level navigation.
      reply.setCookie(LANGUAGE_COOKIE, chosen, { path: '/', sameSite: 'lax', httpOnly: true, secure: opts.config.secureCookies, maxAge: ONE_YEAR_SECONDS })
    }
    request.i18n = pageText(lang)
    reply.header('vary', 'Accept-Language, Cookie')
    // @fastify/view merges reply.locals into every template's data (its types omit it).
    const withLocals = reply as unknown as { locals?: Record<string, unknown> }
    withLocals.locals = { ...withLocals.locals, t: request.i18n.t, lang, languages: languageLinks(request, lang) }
  })
}, { name: 'codepair-i18n', dependencies: ['@fastify/cookie'] })
