// Scope strings (RFC 6749 §3.3). How they read to a person: src/i18n/page-text.ts and the catalogues.
import { InvalidScopeError } from './errors.js'

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** Space-delimited, case-sensitive, order-insensitive; duplicates collapse. */
export function parseScope (value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return []
  const scopes = value.split(' ').filter(s => s !== '')
  for (const s of scopes) {
    if (!SCOPE_TOKEN.test(s)) throw new InvalidScopeError('scope contains characters RFC 6749 section 3.3 does not allow')
  }
  return [...new Set(scopes)]
}

export function formatScope (scopes: Iterable<string>): string {
  return [...scopes].join(' ')
}

export function splitList (value: string): string[] {
  return value.split(/[\s,]+/).filter(s => s !== '')
}
