import t from 'tap'
import { createUser } from '../src/admin/users.js'
import { DEMO_CLIENT_NAME, nextSteps } from '../src/first-run.js'
import { buildTestApp } from './helpers/app.js'

t.test('every development start prints the next commands; the first also creates a demo client', async t => {
  const { app, config } = await buildTestApp(t)
  const hints = await nextSteps(config, app.codepair.storage)
  const client = await app.codepair.storage.db.client.findFirstOrThrow()
  t.equal(client.name, DEMO_CLIENT_NAME)
  t.equal(client.type, 'public')
  t.match(hints, 'npx codepair user create --username you')
  t.match(hints, `npx codepair device --client ${client.id} --issuer http://localhost:3000`)
  t.match(hints, 'was created for you')
  t.notMatch(hints, /password[:=]/i, 'no default password')
  t.equal(await app.codepair.storage.db.user.count(), 0, 'no user is created')
  const again = await nextSteps(config, app.codepair.storage)
  t.equal(await app.codepair.storage.db.client.count(), 1, 'the demo client is created once')
  t.notMatch(again, 'was created for you')
  t.match(again, `npx codepair device --client ${client.id}`, 'the same client next time')
  await createUser(app.codepair.storage.db, { username: 'bob', password: 'long enough password' })
  const later = await nextSteps(config, app.codepair.storage)
  t.notMatch(later, 'user create', 'no user step once there is a user')
  t.match(later, /1\. Pair a simulated device \(client "codepair demo device"\)/)
})

t.test('production mode never creates anything or prints steps', async t => {
  const { app } = await buildTestApp(t)
  const prod = { ...app.codepair.config, mode: 'production' as const }
  t.equal(await nextSteps(prod, app.codepair.storage), null)
  t.equal(await app.codepair.storage.db.client.count(), 0)
})
