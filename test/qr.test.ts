// QR codes for devices that cannot draw one.
import t from 'tap'
import { addClient, addUser, buildTestApp } from './helpers/app.js'
import { startDeviceFlow } from './helpers/oauth.js'

t.test('SVG and PNG of verification_uri_complete for a live code, 404 otherwise', async t => {
  const { app, clock } = await buildTestApp(t)
  const client = await addClient(app)
  const user = await addUser(app)
  const flow = await startDeviceFlow(app, client.id) as any
  const path = String(flow.verification_qr_uri).replace('http://localhost:3000', '')
  t.match(path, /^\/qr\/[0-9a-f-]{36}\.svg\?user_code=[A-Z]{4}-[A-Z]{4}$/)
  const svg = await app.inject(path)
  t.equal(svg.statusCode, 200)
  t.match(svg.headers['content-type'], 'image/svg+xml')
  t.match(svg.body, /^<svg /)
  const png = await app.inject(path.replace('.svg', '.png'))
  t.equal(png.statusCode, 200)
  t.same([...png.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG')

  t.equal((await app.inject(path.replace(/user_code=.*/, 'user_code=BBBB-BBBB'))).statusCode, 404, 'the code must match: no oracle')
  t.equal((await app.inject(path.replace(/\/qr\/[0-9a-f-]{36}/, '/qr/00000000-0000-4000-8000-000000000000'))).statusCode, 404)
  t.equal((await app.inject('/qr/../../etc/passwd')).statusCode, 404)
  t.equal((await app.inject(path.replace('user_code', 'nope'))).statusCode, 400)

  const rec = await app.codepair.storage.db.deviceAuthorization.findFirstOrThrow()
  await app.codepair.storage.devices.decide(rec.id, 'approved', user.id, new Date(clock.ms))
  t.equal((await app.inject(path)).statusCode, 404, 'a decided code has no QR any more')
})
