// Operator branding without forking: BRAND_NAME, BRAND_LOGO_FILE, BRAND_ACCENT_COLOR and
// BRAND_SUPPORT_URL, checked at start-up and served under the pages' CSP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { contrast, DARK_CANVAS, darkSchemeText } from '../../src/branding/colour.js'
import { sniffImageType } from '../../src/branding/logo.js'
import { buildTestApp } from '../helpers/app.js'
import { configProblems } from '../helpers/config.js'

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')
/** A folder of files; not t.testdir(), which the app's fresh database would empty by calling it again. */
function folder (t: any, files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'codepair-brand-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

const SVG = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#123"/></svg>'

t.test('a branded page: name, logo, accent and support link, all under the CSP', async t => {
  const dir = folder(t, { 'logo.png': PNG })
  const { app } = await buildTestApp(t, {
    env: { BRAND_NAME: 'Acme <TV> Login', BRAND_LOGO_FILE: join(dir, 'logo.png'), BRAND_ACCENT_COLOR: '#7B1FA2', BRAND_SUPPORT_URL: 'https://help.example.com/tv?from=codepair' }
  })
  const page = await app.inject({ url: '/activate' })
  t.equal(page.statusCode, 200)
  t.match(page.body, '<title>Connect a device · Acme &lt;TV&gt; Login</title>', 'the name in the title, escaped')
  t.match(page.body, '<img class="logo" src="/assets/logo" alt="" height="32"> Acme &lt;TV&gt; Login</span>', 'the logo beside the name (decorative: the name is the text)')
  t.match(page.body, '<a href="https://help.example.com/tv?from=codepair">Help and support for Acme &lt;TV&gt; Login</a>')
  t.match(page.body, '<link rel="stylesheet" href="/assets/brand.css">')
  t.notMatch(page.body, /style=|<style/, 'no inline style: the CSP allows none')
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, "img-src 'self'")
  t.match(csp, "style-src 'self'")

  const de = await app.inject({ url: '/activate', headers: { 'accept-language': 'de' } })
  t.match(de.body, 'Hilfe und Support für Acme &lt;TV&gt; Login')

  const logo = await app.inject({ url: '/assets/logo' })
  t.equal(logo.statusCode, 200)
  t.equal(logo.headers['content-type'], 'image/png')
  t.equal(logo.headers['x-content-type-options'], 'nosniff')
  t.same(logo.rawPayload, PNG)

  const css = await app.inject({ url: '/assets/brand.css' })
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8')
  t.match(css.body, ':root { --accent: #7b1fa2; --accent-text: #7b1fa2; }')
  const dark = /prefers-color-scheme: dark\) \{ :root \{ --accent-text: (#[0-9a-f]{6}); \}/.exec(css.body)?.[1] ?? ''
  t.ok(contrast(dark, DARK_CANVAS) >= 4.5, `the accent as text in dark mode reads at 4.5:1 or more (${dark}: ${contrast(dark, DARK_CANVAS).toFixed(2)})`)
})

t.test('an SVG logo is served as SVG with a CSP of its own; no logo, no route', async t => {
  const dir = folder(t, { 'logo.svg': SVG })
  const { app } = await buildTestApp(t, { env: { BRAND_LOGO_FILE: join(dir, 'logo.svg') } })
  const logo = await app.inject({ url: '/assets/logo' })
  t.equal(logo.headers['content-type'], 'image/svg+xml')
  t.match(String(logo.headers['content-security-policy']), /default-src 'none'.*sandbox/)

  const plain = await buildTestApp(t)
  t.equal((await plain.app.inject({ url: '/assets/logo' })).statusCode, 404)
  const page = await plain.app.inject({ url: '/activate' })
  t.match(page.body, '<title>Connect a device · codepair</title>', 'codepair by default')
  t.notMatch(page.body, /<img|Help and support/)
  t.match((await plain.app.inject({ url: '/assets/brand.css' })).body, 'no BRAND_ACCENT_COLOR')
})

t.test('bad branding stops start-up with a message saying what to do', async t => {
  const dir = folder(t, { 'logo.png': 'this is text, not a PNG', 'big.png': Buffer.concat([PNG, Buffer.alloc(300 * 1024)]) })
  t.match(configProblems({ BRAND_LOGO_FILE: join(dir, 'logo.png') }), /BRAND_LOGO_FILE: .*logo\.png is not a PNG, JPEG, GIF, WebP or SVG image/, 'the type comes from the bytes, not the name')
  t.match(configProblems({ BRAND_LOGO_FILE: join(dir, 'missing.png') }), /BRAND_LOGO_FILE: cannot read .*missing\.png \(ENOENT\)/)
  t.match(configProblems({ BRAND_LOGO_FILE: join(dir, 'big.png') }), /BRAND_LOGO_FILE: .*301 KiB; a logo may be at most 256 KiB/)
  t.match(configProblems({ BRAND_ACCENT_COLOR: 'purple' }), /BRAND_ACCENT_COLOR: must be a colour as #rrggbb/)
  t.match(configProblems({ BRAND_ACCENT_COLOR: '#ffcc00' }), /BRAND_ACCENT_COLOR: #ffcc00 against white is 1\.\d\d:1; WCAG AA needs 4\.5:1 .*Choose a darker shade/, 'white button text would be unreadable')
  t.match(configProblems({ BRAND_SUPPORT_URL: 'javascript:alert(1)' }), /BRAND_SUPPORT_URL: must be an http\(s\) or mailto: URL/)
  t.match(configProblems({ BRAND_SUPPORT_URL: 'help page' }), /BRAND_SUPPORT_URL/)
  t.match(configProblems({ BRAND_NAME: 'x'.repeat(61) }), /BRAND_NAME: must be at most 60 characters/)
  t.match(configProblems({ BRAND_NAME: 'two\nlines' }), /BRAND_NAME/)
})

t.test('colours: contrast as WCAG computes it, and a readable dark-mode accent for any valid accent', async t => {
  t.equal(contrast('#000000', '#ffffff').toFixed(0), '21')
  t.equal(contrast('#777777', '#ffffff').toFixed(2), '4.48')
  for (const accent of ['#2456d6', '#000000', '#7b1fa2', '#b3261e', '#006400', '#0b1b3d']) {
    const text = darkSchemeText(accent)
    t.ok(contrast(text, DARK_CANVAS) >= 4.5, `${accent} → ${text} (${contrast(text, DARK_CANVAS).toFixed(2)}:1)`)
  }
  t.equal(darkSchemeText('#9dbbff'), '#9dbbff', 'an accent already light enough is kept')
  t.equal(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), 'image/svg+xml')
  t.equal(sniffImageType(Buffer.from('<html><svg>')), undefined, 'HTML is not a logo')
  t.equal(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg')
})
