import t from 'tap'
import { configProblems } from './helpers/config.js'
import { loadConfig } from '../src/config.js'

const problems = configProblems

t.test('zero configuration works for local use', async t => {
  const c = loadConfig({})
  t.equal(c.mode, 'development')
  t.equal(c.port, 3000)
  t.equal(c.host, '127.0.0.1')
  t.equal(c.issuer, 'http://localhost:3000')
  t.equal(c.database.dialect, 'sqlite')
  t.match(c.databaseUrl, /^file:\.\/data\/codepair\.db$/)
  t.equal(c.deviceCodeTtlSeconds, 600)
  t.equal(c.pollIntervalSeconds, 5)
  t.equal(c.accessTokenTtlSeconds, 3600)
  t.equal(c.secretKey, undefined)
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.userCodeFailures), 'config is frozen')
})

t.test('bad values name the variable and what is allowed', async t => {
  t.match(problems({ PORT: 'eighty' }), /PORT: must be a whole number from 0 to 65535 \(got "eighty"\)/)
  t.match(problems({ DEVICE_CODE_TTL_SECONDS: '5' }), /DEVICE_CODE_TTL_SECONDS: must be a whole number from 60 to 3600/)
  t.match(problems({ LOG_LEVEL: 'loud' }), /LOG_LEVEL: must be one of fatal, error/)
  t.match(problems({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL: .*file: .*postgresql:\/\//)
  t.match(problems({ ISSUER: 'not a url' }), /ISSUER: must be an absolute http\(s\) URL/)
  t.match(problems({ ALLOW_HTTP_ISSUER: 'maybe' }), /ALLOW_HTTP_ISSUER: must be true or false/)
  t.match(problems({ SECRET_KEY: 'short' }), /SECRET_KEY: must be at least 32 characters/)
  const several = problems({ PORT: '-1', POLL_INTERVAL_SECONDS: '0' })
  t.match(several, /PORT/)
  t.match(several, /POLL_INTERVAL_SECONDS/)
})

t.test('production mode refuses insecure defaults', async t => {
  const msg = problems({ CODEPAIR_MODE: 'production' })
  t.match(msg, /SECRET_KEY: required in production mode/)
  t.match(msg, /ISSUER: required in production mode/)
  t.match(msg, /ISSUER: must be https in production mode/)
  t.match(problems({ ISSUER: 'https://auth.example.com' }), /SECRET_KEY: required in production mode/, 'an https issuer implies production')
  const ok = loadConfig({ ISSUER: 'https://auth.example.com/', SECRET_KEY: 'x'.repeat(40) })
  t.equal(ok.mode, 'production')
  t.equal(ok.issuer, 'https://auth.example.com', 'trailing slash removed')
  t.equal(ok.secureCookies, true)
  const proxied = loadConfig({ CODEPAIR_MODE: 'production', ISSUER: 'http://auth.internal', ALLOW_HTTP_ISSUER: 'true', SECRET_KEY: 'x'.repeat(40) })
  t.equal(proxied.issuer, 'http://auth.internal', 'plain http only when explicitly allowed')
})

t.test('refuses brute-force budgets that make guessing a live code likelier than the bound, showing the arithmetic', async t => {
  // The bound counts the anonymous and the signed-in budgets, and two windows per code lifetime.
  const msg = problems({ MAX_LIVE_CODES: '100000' })
  t.match(msg, /2 × \(USER_CODE_FAILURES_GLOBAL \+ USER_CODE_FAILURES_SIGNED_IN\) × MAX_LIVE_CODES \/ 20\^USER_CODE_LENGTH = 2 × \(20 \+ 100\) × 100000 \/ 2\.560e\+10 = 9\.38e-4, above MAX_GUESS_PROBABILITY \(0\.000001\)/)
  t.match(msg, /Lower MAX_LIVE_CODES to 106 or less, lower USER_CODE_FAILURES_GLOBAL or USER_CODE_FAILURES_SIGNED_IN, or raise USER_CODE_LENGTH/)
  t.ok(loadConfig({ MAX_LIVE_CODES: '106' }), 'the suggested value is accepted')
  t.match(problems({ MAX_LIVE_CODES: '107' }), /Lower MAX_LIVE_CODES to 106/, 'and one more is refused')
  t.match(problems({ USER_CODE_FAILURES_SIGNED_IN: '200' }), /2 × \(20 \+ 200\) × 100 \/ 2\.560e\+10 = 1\.72e-6/, 'a larger signed-in budget counts against the bound')
  t.match(problems({ USER_CODE_FAILURES_PER_ACCOUNT: '101' }), /USER_CODE_FAILURES_PER_ACCOUNT: must not exceed USER_CODE_FAILURES_SIGNED_IN/)
  const longer = loadConfig({ MAX_LIVE_CODES: '100000', USER_CODE_LENGTH: '12' })
  t.equal(longer.userCodeLength, 12, 'longer codes make room for more live codes')
  const d = loadConfig({})
  t.ok(2 * (d.userCodeFailures.global + d.userCodeFailures.signedIn) * d.maxLiveCodes / 20 ** d.userCodeLength <= 1e-6, 'the defaults keep the chance below one in a million')
})

t.test('.env.example as it is gives the defaults (empty means unset)', async t => {
  const { readFileSync } = await import('node:fs')
  const env = Object.fromEntries(readFileSync(new URL('../.env.example', import.meta.url), 'utf8').split('\n')
    .filter(l => /^[A-Z_]+=/.test(l)).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  t.ok(Object.keys(env).length >= 25, 'every key is documented')
  const c = loadConfig(env)
  t.same(c, loadConfig({}), 'documented defaults are the real defaults')
})
