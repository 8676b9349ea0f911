// Hostile input against a real server on SQLite (README "Hostile input"): harness/run.ts.
import t from 'tap'
import { freshSqliteUrl } from '../helpers/db.js'
import { fuzzServer } from './harness/run.js'

t.test('every route survives generated hostile requests (sqlite)', async t => {
  await fuzzServer(t, freshSqliteUrl(t), 'sqlite')
})
