// A refusal that is still being written when the client hangs up must stay a refusal.
// Fastify awaits a reply returned from an async hook like a promise; when the connection
// closes while the refusal is in its onSend hooks (a session save, a slow compressor), that
// promise settles early and fastify went on to the route handler: a form's action without
// a valid CSRF token, a protected handler without a verified token, and two answers racing
// on one response (the fuzz suite's "Cannot write headers after they are sent").
import net from 'node:net'
import pg from 'pg'
import Fastify from 'fastify'
import t from 'tap'
import { codepairResource, createVerifier } from '../../src/kits/resource/index.js'
import { addUser, listenTestApp, PASSWORD } from '../helpers/app.js'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { HttpBrowser } from '../helpers/http-browser.js'
import { form } from '../helpers/oauth.js'

const sleep = async (ms: number) => await new Promise(resolve => setTimeout(resolve, ms))

/** Writes one request on a raw socket and hangs up after `closeAfterMs`, before any answer. */
async function sendAndHangUp (port: number, request: string, closeAfterMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(request)
      setTimeout(() => { socket.destroy(); resolve() }, closeAfterMs)
    })
    socket.on('error', reject)
  })
}

// On PostgreSQL: the server's I/O is asynchronous there, so the hang-up can arrive while the
// refusal's session save waits (SQLite's driver waits for its lock synchronously).
t.test('a form refused for its CSRF token is not carried out when the client hangs up mid-answer', async t => {
  if (!await requirePostgres(t)) return
  const databaseUrl = await freshPostgresUrl(t)
  const { app, issuer } = await listenTestApp(t, { databaseUrl })
  await addUser(app)
  const browser = new HttpBrowser(issuer)
  await browser.get('/login')
  t.equal((await browser.post('/login', { username: 'alice', password: PASSWORD })).status, 303, 'signed in')
  t.equal((await browser.get('/account/devices')).status, 200, 'the session works')
  const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const port = Number(new URL(issuer).port)

  // Another connection blocks writes to the session table (reads go on): the refusal
  // page's session save (an onSend hook; sessions roll) waits, and the hang-up lands then.
  const lock = new pg.Client({ connectionString: databaseUrl })
  await lock.connect()
  t.teardown(async () => { await lock.end() })
  await lock.query('BEGIN')
  await lock.query('LOCK TABLE "Session" IN EXCLUSIVE MODE')
  const body = form({ _csrf: 'not-the-token' })
  await sendAndHangUp(port, `POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 500)
  await sleep(300)
  await lock.query('COMMIT')
  await sleep(1500) // whatever the server would still do, it has done by now

  t.equal((await browser.get('/account/devices')).status, 200, 'still signed in: the logout without a valid token never ran')
})

t.test('requireScope: a refused request never reaches the handler, even when the client hangs up', async t => {
  const lines: string[] = []
  const api = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  await api.register(codepairResource, {
    verifier: createVerifier({ issuer: 'https://issuer.example', audience: 'https://api.example', keys: async () => { throw new Error('unused') } })
  })
  // The resource server's own slow onSend hook (compression, a session store, an audit write).
  api.addHook('onSend', async (_request, _reply, payload) => { await sleep(400); return payload })
  let deleted = 0
  api.post('/photos/delete', { preHandler: api.requireScope('photos:write') }, async () => { deleted++; return { ok: true } })
  t.teardown(async () => { await api.close() })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const port = (api.server.address() as net.AddressInfo).port

  await sendAndHangUp(port, 'POST /photos/delete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n', 100)
  await sendAndHangUp(port, 'POST /photos/delete HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x y\r\nContent-Length: 0\r\n\r\n', 100)
  await sleep(1200)
  t.equal(deleted, 0, 'the handler never ran without a verified token')
  t.same(lines.filter(l => (JSON.parse(l) as { level: number }).level >= 50), [], 'no error-level log line')

  const refused = await api.inject({ method: 'POST', url: '/photos/delete' })
  t.equal(refused.statusCode, 401, 'a client that waits still gets the RFC 6750 refusal')
  t.match(String(refused.headers['www-authenticate']), /^Bearer realm="codepair"$/)
  t.equal(deleted, 0)
})
