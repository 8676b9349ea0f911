// The README's table of USER_CODE_LENGTH against the largest MAX_LIVE_CODES comes from the
// same arithmetic as the start-up check (RFC 8628 §5.1), and every row is exactly the edge
// that check draws.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { formatUp, guessChance, guessTable, largestMaxLiveCodes } from '../../src/oauth/guess-bound.js'
import { testPort } from '../helpers/app.js'
import { configProblems } from '../helpers/config.js'

const defaults = loadConfig({})
const budgets = { anonymous: defaults.userCodeFailures.global, signedIn: defaults.userCodeFailures.signedIn }

t.test('the README table is the one the code computes for the default budgets', async t => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const m = /<!-- guess-table: [^>]*-->\n([\s\S]*?)\n<!-- \/guess-table -->/.exec(readme)
  t.ok(m, 'the README has the table between its markers')
  t.equal(m?.[1], guessTable(budgets, defaults.maxGuessProbability), 'regenerate it with guessTable() when budgets or defaults change')
})

t.test('each row is the largest value start-up accepts', async t => {
  for (const length of [8, 9, 10, 11, 12]) {
    const n = largestMaxLiveCodes({ ...budgets, userCodeLength: length }, defaults.maxGuessProbability)
    t.ok(loadConfig({ USER_CODE_LENGTH: String(length), MAX_LIVE_CODES: String(n) }), `length ${length}: ${n} live codes accepted`)
    t.match(configProblems({ USER_CODE_LENGTH: String(length), MAX_LIVE_CODES: String(n + 1) }), /above MAX_GUESS_PROBABILITY/, `length ${length}: ${n + 1} refused`)
  }
  t.ok(largestMaxLiveCodes({ ...budgets, userCodeLength: 10 }, 1e-6) >= 10000, 'a deployment pairing 10,000 devices in 10 minutes finds its row')
})

t.test('the chance counts both shared budgets and two windows per code lifetime', async t => {
  t.equal(guessChance({ userCodeLength: 8, maxLiveCodes: 100, anonymous: 20, signedIn: 100 }), 2 * 120 * 100 / 20 ** 8)
  const ratio = guessChance({ userCodeLength: 8, maxLiveCodes: 100, anonymous: 20, signedIn: 100 }) / guessChance({ userCodeLength: 8, maxLiveCodes: 100, anonymous: 20, signedIn: 0 })
  t.ok(Math.abs(ratio - 6) < 1e-12, `the signed-in budget counts as much as the anonymous one (ratio ${ratio})`)
  t.ok(guessChance({ userCodeLength: defaults.userCodeLength, maxLiveCodes: defaults.maxLiveCodes, ...budgets }) <= defaults.maxGuessProbability, 'the defaults are within the bound')
})

t.test('the printed chance is rounded up, never down', async t => {
  t.equal(formatUp(2 * 120 * 100000 / 20 ** 8), '9.38e-4', '9.375e-4 (toExponential says 9.37e-4)')
  t.equal(formatUp(1.71875e-6), '1.72e-6')
  t.equal(formatUp(1.711e-6), '1.72e-6')
  t.equal(formatUp(2.5e-6), '2.50e-6', 'an exact value stays as it is')
  t.equal(formatUp(1e-6), '1.00e-6')
  t.equal(formatUp(9.996e-7), '1.00e-6', 'carries into the exponent')
  t.equal(formatUp(3.2e10), '3.20e+10')
})

t.test('the server prints the arithmetic at start-up, and refuses a configuration above the bound', async t => {
  const { spawnSync } = await import('node:child_process')
  const { join } = await import('node:path')
  const { spawnWatched } = await import('../helpers/cli.js')
  const server = new URL('../../dist/server.js', import.meta.url).pathname
  const dbFile = join(t.testdir(), 'codepair.db')
  const refused = spawnSync(process.execPath, [server], { env: { ...process.env, DATABASE_URL: `file:${dbFile}`, MAX_LIVE_CODES: '1000' }, encoding: 'utf8' })
  t.equal(refused.status, 78, 'exit code 78 (configuration), before anything starts')
  t.match(refused.stderr, '2 × (USER_CODE_FAILURES_GLOBAL + USER_CODE_FAILURES_SIGNED_IN) × MAX_LIVE_CODES / 20^USER_CODE_LENGTH = 2 × (20 + 100) × 1000 / 2.560e+10 = 9.38e-6, above MAX_GUESS_PROBABILITY (0.000001)')
  t.match(refused.stderr, 'Lower MAX_LIVE_CODES to 106 or less')
  t.notMatch(refused.stderr, 'DATABASE_URL', 'the bound is the one problem')

  const port = String(testPort())
  const running = spawnWatched([server, '--migrate'], { ...process.env, DATABASE_URL: `file:${dbFile}`, PORT: port, LOG_LEVEL: 'info', LOG_FORMAT: 'json' })
  t.teardown(() => { running.child.kill('SIGKILL') })
  await running.waitFor('codepair is ready')
  t.match(running.output(), 'user-code guessing bound: 2 × (USER_CODE_FAILURES_GLOBAL + USER_CODE_FAILURES_SIGNED_IN) × MAX_LIVE_CODES / 20^USER_CODE_LENGTH = 2 × (20 + 100) × 100 / 2.560e+10 = 9.38e-7 ≤ MAX_GUESS_PROBABILITY 0.000001')
  running.child.kill('SIGTERM')
  t.equal(await running.exited, 0)
})
