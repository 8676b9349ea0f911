// Hostile input against a real server on PostgreSQL (README "Hostile input"): harness/run.ts.
import t from 'tap'
import { freshPostgresUrl, requirePostgres } from '../helpers/db.js'
import { fuzzServer } from './harness/run.js'

t.test('every route survives generated hostile requests (postgresql)', async t => {
  if (!await requirePostgres(t)) return
  await fuzzServer(t, await freshPostgresUrl(t), 'postgresql')
})
