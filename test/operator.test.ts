// What an operator and a newcomer see: GET / leads somewhere, an https ISSUER reached over
// plain http is called out, development logs are readable at a terminal, and every
// development start ends with the next steps after the log lines.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, testPort } from './helpers/app.js'
import { Browser } from './helpers/browser.js'
import { spawnWatched } from './helpers/cli.js'
import { freshSqliteUrl } from './helpers/db.js'

const ROOT = new URL('../', import.meta.url).pathname
const SERVER = join(ROOT, 'dist/server.js')
const port = testPort

t.test('GET /: people go to /activate, machines get an index of the metadata', async t => {
  const { app } = await buildTestApp(t)
  const page = await app.inject({ url: '/', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.equal(page.statusCode, 303)
  t.equal(page.headers.location, '/activate')
  const index = await app.inject({ url: '/', headers: { accept: 'application/json' } })
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], 'application/json')
  t.match(index.headers.vary, 'Accept')
  const body = index.json()
  t.equal(body.issuer, 'http://localhost:3000')
  for (const key of ['authorization_server_metadata', 'openid_configuration', 'jwks_uri']) {
    const path = new URL(body[key]).pathname
    t.equal((await app.inject(path)).statusCode, 200, `${key} answers`)
  }
  t.equal(body.verification_uri, 'http://localhost:3000/activate')
  t.equal((await app.inject('/')).statusCode, 200, 'no Accept: the JSON index')
})

t.test('an https ISSUER opened over plain http: said at start-up, on the page and instead of "form expired"', async t => {
  const lines: string[] = []
  const { app } = await buildTestApp(t, { env: { ISSUER: 'https://auth.example.test', LOG_LEVEL: 'warn' }, logStream: { write: l => { lines.push(l) } } })
  t.match(lines.join(''), 'ISSUER is https://auth.example.test but TRUST_PROXY is off', 'at start-up')
  const browser = new Browser(app)
  const page = await browser.get('/activate')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'This page was opened over plain http, but this server&#39;s address (ISSUER) is https://auth.example.test')
  t.match(lines.join(''), 'a page was requested over plain http', 'and in the log when it happens')
  // The Secure cookie never comes back over http: the form fails, and says why.
  const posted = await app.inject({ method: 'POST', url: '/activate', payload: `user_code=BCDF-GHJK&_csrf=${browser.csrf}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(posted.statusCode, 403)
  t.match(posted.body, 'This page needs https')
  t.notMatch(posted.body, 'This form has expired')

  const viaProxy = await app.inject({ url: '/activate', headers: { 'x-forwarded-proto': 'https' } })
  t.notMatch(viaProxy.body, 'opened over plain http', 'a TLS proxy in front: no warning')
  const plain = await buildTestApp(t)
  t.notMatch((await plain.app.inject('/activate')).body, 'opened over plain http', 'an http ISSUER: no warning')
})

function startAtTerminal (env: NodeJS.ProcessEnv) {
  const child = spawn('script', ['-qfec', `${process.execPath} ${SERVER} --migrate`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  const exited = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
  return { child, exited, output: () => out }
}

async function until (what: () => boolean, output: () => string, label: string) {
  const end = Date.now() + 90_000
  while (!what()) {
    if (Date.now() > end) throw new Error(`no ${label} after 90 s:\n${output()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('development at a terminal: readable log lines, then the next steps, on every start', async t => {
  const url = freshSqliteUrl(t)
  for (const start of ['first', 'second']) {
    const p = port()
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, PORT: String(p), LOG_LEVEL: 'info' }
    delete env.SECRET_KEY
    delete env.ISSUER
    delete env.LOG_FORMAT
    const server = startAtTerminal(env)
    t.teardown(() => { server.child.kill('SIGKILL') })
    await until(() => server.output().includes('/account/devices'), server.output, 'next steps')
    const out = server.output()
    t.match(out, /\d\d:\d\d:\d\d\] .*INFO.*codepair is ready/, `${start} start: a readable line`)
    t.notMatch(out, /"level":\d+/, 'no JSON at a terminal')
    t.ok(out.indexOf('codepair is ready') < out.indexOf('Next steps'), 'the next steps come after the log lines')
    t.match(out, 'npx codepair device --client ')
    t.notMatch(out, /Loaded Prisma config|will NOT be used|Prisma schema loaded/, 'no Prisma chatter')
    const ok = await fetch(`http://127.0.0.1:${p}/healthz`)
    t.equal(ok.status, 200)
    server.child.kill('SIGTERM')
    await server.exited
  }
})

t.test('not at a terminal: JSON lines, and the next steps still after them', async t => {
  const url = freshSqliteUrl(t)
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, PORT: String(port()), LOG_LEVEL: 'info' }
  delete env.SECRET_KEY
  delete env.ISSUER
  delete env.LOG_FORMAT
  const server = spawnWatched([SERVER, '--migrate'], env)
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.waitFor('/account/devices')
  const out = server.output()
  const ready = out.split('\n').find(l => l.includes('codepair is ready')) ?? ''
  t.match(JSON.parse(ready), { msg: 'codepair is ready', mode: 'development' })
  t.ok(out.indexOf('codepair is ready') < out.indexOf('Next steps'))
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
})
