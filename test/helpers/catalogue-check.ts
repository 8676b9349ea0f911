// Compares a catalogue with English: the key test (test/i18n/catalogues.test.ts) runs it on
// every file in views/locales, and on broken catalogues to show it can fail.
import type { Catalogue } from '../../src/i18n/catalogues.js'

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/

export function flatten (cat: Catalogue, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(cat)) {
    if (typeof v === 'string') out.set(prefix + k, v)
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv)
  }
  return out
}

const variables = (s: string) => [...s.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map(m => m[1]).sort()

/**
 * What is wrong with `lang`'s catalogue next to English: missing keys (a plural key counts as
 * present when the language has every plural form Intl.PluralRules lists for it), keys English
 * lacks, empty strings, and {{variables}} that differ from English.
 */
export function catalogueProblems (lang: string, english: Catalogue, other: Catalogue): string[] {
  const en = flatten(english)
  const it = flatten(other)
  const problems: string[] = []
  const forms = new Intl.PluralRules(lang).resolvedOptions().pluralCategories
  const checked = new Set<string>()
  for (const [key, text] of en) {
    const base = key.replace(PLURAL_SUFFIX, '')
    if (base !== key) {
      if (checked.has(base)) continue
      checked.add(base)
      for (const form of forms) if (!it.has(`${base}_${form}`)) problems.push(`${lang}: missing ${base}_${form}`)
      continue
    }
    const translated = it.get(key)
    if (translated === undefined) { problems.push(`${lang}: missing ${key}`); continue }
    if (translated.trim() === '') problems.push(`${lang}: ${key} is empty`)
    if (variables(translated).join() !== variables(text).join()) problems.push(`${lang}: ${key} uses {{${variables(translated).join('}}, {{')}}} where English uses {{${variables(text).join('}}, {{')}}}`)
  }
  for (const key of it.keys()) {
    const base = key.replace(PLURAL_SUFFIX, '')
    if (!en.has(key) && !checked.has(base)) problems.push(`${lang}: ${key} is not in English (a stale or misspelt key)`)
  }
  return problems
}

/** Keys used as t('section.key') in templates and code (a key always has a section: t('jti') in SQL is no key). */
export function usedKeys (source: string): string[] {
  return [...source.matchAll(/\bt\(\s*(['"])([\w-]+(?:\.[\w-]+)+)\1/g)].map(m => m[2] as string)
}
