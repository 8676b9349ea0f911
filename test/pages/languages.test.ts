// Page languages through real HTTP: Accept-Language, the switcher and its cookie, <html lang>,
// and dates, times and durations written the way each language writes them.
import t, { type Test } from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from '../helpers/app.js'
import { Browser } from '../helpers/browser.js'
import { obtainTokens, startDeviceFlow } from '../helpers/oauth.js'

async function setup (t: Test) {
  const ctx = await buildTestApp(t, { env: { ACCESS_TOKEN_TTL_SECONDS: '600' } })
  const client = await addClient(ctx.app, { name: 'Living Room TV', scopes: 'openid profile billing' })
  const user = await addUser(ctx.app)
  return { ...ctx, client, user }
}

const page = async (app: any, url: string, headers: Record<string, string> = {}) => await app.inject({ url, headers })
const htmlLang = (body: string) => /<html lang="([^"]+)">/.exec(body)?.[1]

t.test('the language comes from Accept-Language, English when none fits', async t => {
  const { app } = await setup(t)
  const none = await page(app, '/activate')
  t.equal(htmlLang(none.body), 'en')
  t.match(none.body, '<h1>Connect a device</h1>')

  const de = await page(app, '/activate', { 'accept-language': 'de-AT,de;q=0.9,en;q=0.5' })
  t.equal(de.statusCode, 200)
  t.equal(htmlLang(de.body), 'de', 'de-AT gets German')
  t.match(de.body, '<h1>Gerät verbinden</h1>')
  t.match(de.body, '<title>Gerät verbinden · codepair</title>')
  t.match(de.body, '<label for="user_code">Code</label>')
  t.match(de.body, 'Nur Buchstaben')
  t.match(String(de.headers.vary), /Accept-Language/, 'caches keep languages apart')

  const ja = await page(app, '/activate', { 'accept-language': 'en;q=0.2, ja;q=0.8, es;q=0.5' })
  t.equal(htmlLang(ja.body), 'ja', 'the highest q-value wins')
  t.match(ja.body, 'デバイスを接続')

  for (const header of ['fr-FR, fr;q=0.9', 'tlh', '*;q=0', 'garbage;;q=x,,']) {
    const res = await page(app, '/activate', { 'accept-language': header })
    t.equal(res.statusCode, 200, header)
    t.equal(htmlLang(res.body), 'en', `${header}: falls back to English`)
    t.match(res.body, 'Connect a device')
  }
})

t.test('the switcher: ?lang= shows the page in that language and a cookie remembers it over Accept-Language', async t => {
  const { app } = await setup(t)
  const chosen = await page(app, '/activate?user_code=BCDF-GHJK&lang=es', { 'accept-language': 'de' })
  t.equal(htmlLang(chosen.body), 'es')
  t.match(chosen.body, 'Conectar un dispositivo')
  t.match(chosen.body, 'value="BCDF-GHJK"', 'the pre-filled code stays')
  const cookie = chosen.cookies.find((c: any) => c.name === 'lang')
  t.equal(cookie?.value, 'es', 'remembered in a cookie')
  t.ok(cookie?.httpOnly)
  t.equal(cookie?.sameSite, 'Lax')
  t.equal(cookie?.path, '/')
  t.ok(Number(cookie?.maxAge) > 30 * 24 * 3600, 'kept for a long time')

  const later = await page(app, '/login', { 'accept-language': 'de', cookie: 'lang=es' })
  t.equal(htmlLang(later.body), 'es', 'the cookie beats Accept-Language')
  t.match(later.body, 'Nombre de usuario')
  t.equal(later.cookies.find((c: any) => c.name === 'lang'), undefined, 'no new cookie without a new choice')

  const unknown = await page(app, '/activate?lang=xx', { 'accept-language': 'ja', cookie: 'lang=zz' })
  t.equal(htmlLang(unknown.body), 'ja', 'an unknown ?lang= or cookie is ignored')
  t.equal(unknown.cookies.find((c: any) => c.name === 'lang'), undefined)

  // The switcher: a link per language, named in that language, keeping the page's query.
  const links = [...chosen.body.matchAll(/<a href="([^"]+)" lang="(\w+)" hreflang="\w+"( aria-current="true")?>([^<]+)<\/a>/g)]
  t.same(links.map(m => [m[2], m[4]]), [['en', 'English'], ['de', 'Deutsch'], ['es', 'Español'], ['ja', '日本語']])
  t.same(links.filter(m => m[3] !== undefined).map(m => m[2]), ['es'], 'the current language is marked')
  t.equal(links[1]?.[1], '/activate?user_code=BCDF-GHJK&amp;lang=de')
  t.match(chosen.body, '<nav aria-label="Idioma">')
  const followed = await page(app, '/activate?user_code=BCDF-GHJK&lang=de')
  t.match(followed.body, 'Gerät verbinden')
})

t.test('a whole approval in German: errors, the confirmation page with its dates and scopes, the result', async t => {
  const { app, client } = await setup(t)
  const flow = await startDeviceFlow(app, client.id, { scope: 'openid profile billing' })
  const browser = new Browser(app)
  browser.cookies.set('lang', 'de')
  await browser.get('/activate')
  const wrong = await browser.post('/activate', { user_code: 'BC' })
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, 'Codes haben 8 Buchstaben, etwa BCDF-GHJK.')
  t.match(wrong.body, 'aria-describedby="code-error code-hint"')
  const unknown = await browser.post('/activate', { user_code: 'ZZZZ-ZZZZ' })
  t.match(unknown.body, 'Dieser Code wurde nicht erkannt.')

  const login = await browser.post('/activate', { user_code: flow.user_code })
  t.equal(login.headers.location, '/login')
  const form = await browser.get('/login')
  t.match(form.body, 'Melden Sie sich an, um Ihr Gerät weiter zu verbinden.')
  const bad = await browser.post('/login', { username: 'alice', password: 'wrong' })
  t.equal(bad.statusCode, 401)
  t.match(bad.body, 'Benutzername oder Passwort ist falsch.')
  await browser.post('/login', { username: 'alice', password: PASSWORD })
  const confirm = await browser.get('/activate/confirm')
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, 'Living Room TV Zugriff auf Ihr Konto erlauben?')
  t.match(confirm.body, '<dt>Angefragt</dt><dd>23. Nov. 2026, 12:00 UTC (gerade eben)</dd>', 'the date through Intl, in German')
  t.match(confirm.body, 'Ihren Namen und Benutzernamen sehen')
  t.match(confirm.body, 'Zugriff auf „billing“', 'an unknown scope is named, in German quotes')
  t.match(confirm.body, '>Erlauben</button>')
  const done = await browser.post('/activate/confirm', { decision: 'approve' })
  t.equal(done.statusCode, 303)
  const result = await browser.follow()
  t.match(result.body, '<h1>Gerät verbunden</h1>')
  t.equal(htmlLang(result.body), 'de')
})

t.test('Japanese and Spanish: relative times, durations and the devices page', async t => {
  const { app, clock, client, user } = await setup(t)
  await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'profile' })
  clock.advance(180)
  const browser = new Browser(app)
  browser.cookies.set('lang', 'ja')
  await browser.signIn('alice', PASSWORD)
  const ja = await browser.get('/account/devices')
  t.equal(ja.statusCode, 200)
  t.match(ja.body, '<dt>接続日時</dt><dd>2026年11月23日 12:00 UTC（3 分前）</dd>')
  t.match(ja.body, '約 7 分 後に終了します', 'how long access lasts, as a duration in Japanese')
  t.match(ja.body, '10 分 以内に終了します')

  browser.cookies.set('lang', 'es')
  const es = await browser.get('/account/devices')
  t.match(es.body, '<dt>Conectado</dt><dd>23 nov 2026, 12:00 UTC (hace 3 minutos)</dd>')
  t.match(es.body, 'Termina en unos 7 minutos; no se puede renovar')
})

t.test('error pages and locked-out messages are translated too', async t => {
  const { app } = await setup(t)
  const expired = await app.inject({
    method: 'POST', url: '/activate', payload: 'user_code=BCDFGHJK', headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'ja' }
  })
  t.equal(expired.statusCode, 403)
  t.equal(htmlLang(expired.body), 'ja')
  t.match(expired.body, 'このフォームの有効期限が切れました')

  const browser = new Browser(app)
  browser.cookies.set('lang', 'es')
  await browser.get('/login')
  let res
  for (let i = 0; i < 20; i++) {
    res = await browser.post('/login', { username: 'alice', password: `wrong-${i}` })
    if (res.statusCode === 429) break
  }
  t.equal(res?.statusCode, 429)
  t.match(res?.body, /Demasiados intentos fallidos\. Vuelve a intentarlo después de las \d\d:\d\d UTC\./)
})
