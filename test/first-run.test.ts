import t from 'tap'
import { createUser } from '../src/admin/users.js'
import { DEMO_CLIENT_NAME, firstRunHints } from '../src/first-run.js'
import { buildTestApp } from './helpers/app.js'

t.test('the first development start creates a demo client and prints the next commands', async t => {
  const { app, config } = await buildTestApp(t)
  const hints = await firstRunHints(config, app.codepair.storage)
  const client = await app.codepair.storage.db.client.findFirstOrThrow()
  t.equal(client.name, DEMO_CLIENT_NAME)
  t.equal(client.type, 'public')
  t.match(hints, 'npx codepair user create --username you')
  t.match(hints, `npx codepair device --client ${client.id} --issuer http://localhost:3000`)
  t.notMatch(hints, /password[:=]/i, 'no default password')
  t.equal(await app.codepair.storage.db.user.count(), 0, 'no user is created')
  const again = await firstRunHints(config, app.codepair.storage)
  t.equal(await app.codepair.storage.db.client.count(), 1, 'the demo client is created once')
  t.notMatch(again, 'was created for you')
  await createUser(app.codepair.storage.db, { username: 'bob', password: 'long enough password' })
  t.equal(await firstRunHints(config, app.codepair.storage), null, 'quiet once there are clients and users')
})

t.test('production mode never creates anything', async t => {
  const { app } = await buildTestApp(t)
  const prod = { ...app.codepair.config, mode: 'production' as const }
  t.equal(await firstRunHints(prod, app.codepair.storage), null)
  t.equal(await app.codepair.storage.db.client.count(), 0)
})
