// Every language has every string English has, and every string a page asks for exists.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CATALOGUES, DEFAULT_LANGUAGE, LANGUAGES } from '../../src/i18n/catalogues.js'
import { catalogueProblems, flatten, usedKeys } from '../helpers/catalogue-check.js'

const ROOT = new URL('../../', import.meta.url).pathname
const english = CATALOGUES[DEFAULT_LANGUAGE]!

function filesUnder (dir: string, ext: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith(ext) && !f.includes('generated'))
    .map(f => join(ROOT, dir, f))
}

t.test('English, German, Spanish and Japanese are there', async t => {
  t.same([...LANGUAGES].sort(), ['de', 'en', 'es', 'ja'])
  t.equal(LANGUAGES[0], 'en', 'English first in the switcher')
})

for (const lang of LANGUAGES.filter(l => l !== DEFAULT_LANGUAGE)) {
  t.test(`${lang}.json has every key English has, with the same {{variables}}`, async t => {
    t.same(catalogueProblems(lang, english, CATALOGUES[lang]!), [])
  })
}

t.test('the check fails on a catalogue missing a key, with a stray key, or a wrong variable', async t => {
  const en = { a: { hello: 'Hello {{name}}', bye: 'Bye' }, item_one: 'one item', item_other: '{{count}} items' }
  t.same(catalogueProblems('de', en, { a: { hello: 'Hallo {{name}}', bye: 'Tschüss' }, item_one: 'ein Ding', item_other: '{{count}} Dinge' }), [], 'a complete catalogue passes')
  t.same(catalogueProblems('de', en, { a: { hello: 'Hallo {{name}}' }, item_one: 'x', item_other: 'y' }), ['de: missing a.bye'])
  t.same(catalogueProblems('de', en, { a: { hello: 'Hallo {{nam}}', bye: ' ' }, item_one: 'x', item_other: 'y', extra: 'z' }), [
    'de: a.hello uses {{nam}} where English uses {{name}}',
    'de: a.bye is empty',
    'de: extra is not in English (a stale or misspelt key)'
  ])
  t.same(catalogueProblems('de', en, { a: { hello: 'Hallo {{name}}', bye: 'B' }, item_other: 'y' }), ['de: missing item_one'], 'every plural form the language has')
  t.same(catalogueProblems('ja', en, { a: { hello: '{{name}}', bye: 'B' }, item_other: 'y' }), [], 'Japanese has only "other"')
})

t.test('every key the templates and the code use is in English, and every English key is used', async t => {
  const sources = [...filesUnder('views', '.eta'), ...filesUnder('src', '.ts')]
  const used = new Set(sources.flatMap(f => usedKeys(readFileSync(f, 'utf8'))))
  t.ok(used.size > 50, `found the keys in use (${used.size})`)
  const keys = new Set([...flatten(english).keys()].map(k => k.replace(/_(zero|one|two|few|many|other)$/, '')))
  t.same([...used].filter(k => !keys.has(k)), [], 'keys used but missing from en.json')
  // language.name is read from each catalogue for the switcher, not through t().
  t.same([...keys].filter(k => !used.has(k) && k !== 'language.name'), [], 'keys in en.json that nothing uses')
  t.same(usedKeys('<%= t(\'a.b\') %> t("c.d", { x }) it.t(\'e.f_g\') format(\'h.i\') t(\'jti\')'), ['a.b', 'c.d', 'e.f_g'], 'the scan finds t() calls with sectioned keys')
})
