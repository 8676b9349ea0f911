// Structured logs with request ids, and no secret, code or token in them.
import t from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD } from './helpers/app.js'
import { Browser } from './helpers/browser.js'
import { basic, poll, postForm } from './helpers/oauth.js'

t.test('a whole flow at trace level logs no secret', async t => {
  const lines: string[] = []
  const { app, clock } = await buildTestApp(t, { env: { LOG_LEVEL: 'trace' }, logStream: { write: (l: string) => { lines.push(l) } } })
  const client = await addClient(app, { confidential: true })
  const secret = client.clientSecret ?? ''
  await addUser(app)
  const auth = { authorization: basic(client.id, secret) }
  const da = await postForm(app, '/oauth/device_authorization', { scope: 'openid' }, auth)
  const flow = da.json()
  const browser = new Browser(app)
  await browser.decide(flow.user_code, 'alice', PASSWORD, 'approve')
  clock.advance(5)
  const tokens = (await postForm(app, '/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: flow.device_code }, auth)).json()
  t.type(tokens.access_token, 'string')
  await poll(app, client.id, flow.device_code, { client_secret: secret })

  const log = lines.join('')
  t.ok(lines.length > 10, 'requests were logged')
  const entries = lines.map(l => JSON.parse(l))
  t.ok(entries.some(e => typeof e.reqId === 'string' && e.reqId.length === 36), 'each request carries a request id')
  const session = browser.cookies.get('codepair') ?? ''
  const secrets: Record<string, string> = {
    device_code: flow.device_code,
    user_code: flow.user_code,
    'user code without dash': flow.user_code.replace('-', ''),
    password: PASSWORD,
    client_secret: secret,
    'Basic credentials': auth.authorization.slice(6),
    access_token: tokens.access_token,
    'session cookie': session.split('.')[0] ?? 'x',
    'csrf token': browser.csrf
  }
  for (const [what, value] of Object.entries(secrets)) {
    t.ok(value.length > 4, `${what} is a real value`)
    t.notOk(log.includes(value), `${what} never appears in logs`)
  }
})

t.test('x-request-id on responses', async t => {
  const { app } = await buildTestApp(t)
  const res = await app.inject('/healthz')
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})
