// Which language a page is shown in: an explicit choice (?lang=, remembered in a cookie)
// over the browser's Accept-Language (RFC 9110 §12.5.4, q-values and prefixes handled
// by negotiator: "de-AT" gets "de"), over English.
import Negotiator from 'negotiator'
import { DEFAULT_LANGUAGE, LANGUAGES } from './catalogues.js'

export const LANGUAGE_COOKIE = 'lang'
export const LANGUAGE_PARAM = 'lang'

export function supported (value: unknown): string | undefined {
  return typeof value === 'string' && LANGUAGES.includes(value) ? value : undefined
}

export function chooseLanguage (choice: { query?: unknown, cookie?: unknown, acceptLanguage?: string }): string {
  return supported(choice.query) ?? supported(choice.cookie) ??
    new Negotiator({ headers: { 'accept-language': choice.acceptLanguage ?? '' } }).language([...LANGUAGES]) ??
    DEFAULT_LANGUAGE
}
