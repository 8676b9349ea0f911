// The page catalogues: one JSON file per language in views/locales, English the reference
// (README "Languages"). Adding a language is adding a file; i18next does lookup, fallback to
// English for anything missing, interpolation and plurals (Intl.PluralRules, `_one`/`_other`).
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import i18next, { type TFunction } from 'i18next'

export const LOCALES_DIR = fileURLToPath(new URL('../../views/locales', import.meta.url))

/** The language every other falls back to and every catalogue is checked against. */
export const DEFAULT_LANGUAGE = 'en'

export type Catalogue = { [key: string]: string | Catalogue }

function loadCatalogues (): Record<string, Catalogue> {
  const out: Record<string, Catalogue> = {}
  for (const file of readdirSync(LOCALES_DIR).filter(f => f.endsWith('.json')).sort()) {
    out[file.slice(0, -'.json'.length)] = JSON.parse(readFileSync(`${LOCALES_DIR}/${file}`, 'utf8')) as Catalogue
  }
  if (out[DEFAULT_LANGUAGE] === undefined) throw new Error(`${LOCALES_DIR}/${DEFAULT_LANGUAGE}.json is missing`)
  return out
}

export const CATALOGUES = loadCatalogues()

/** Language codes we have a catalogue for, English first (the switcher's order). */
export const LANGUAGES: readonly string[] = Object.freeze([DEFAULT_LANGUAGE, ...Object.keys(CATALOGUES).filter(l => l !== DEFAULT_LANGUAGE)])

const i18n = i18next.createInstance()
void i18n.init({
  resources: Object.fromEntries(Object.entries(CATALOGUES).map(([lng, cat]) => [lng, { translation: cat }])),
  supportedLngs: [...LANGUAGES],
  fallbackLng: DEFAULT_LANGUAGE,
  initAsync: false, // resources are in memory: t() works as soon as this returns
  // The templates escape everything they print (eta autoEscape); escaping here too would double it.
  interpolation: { escapeValue: false },
  returnNull: false
})

export function translator (language: string): TFunction {
  return i18n.getFixedT(language)
}
