// A fresh clone: `npm install` is clean on the oldest Node we support, `npm install &&
// npm start` builds once, and `npx codepair` runs the local command without installing.
import { spawnSync } from 'node:child_process'
import { readFileSync, readlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'
import t from 'tap'

const ROOT = new URL('../', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))

t.test('every locked package accepts the oldest Node in package.json engines (no EBADENGINE)', async t => {
  const oldest = semver.minVersion(pkg.engines.node)?.version ?? ''
  t.match(oldest, /^20\./, `the floor is Node 20 (${oldest})`)
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
  const refusing = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
    .filter(([, p]) => typeof p.engines?.node === 'string' && !semver.satisfies(oldest, p.engines.node))
    .map(([name, p]) => `${name} wants node ${p.engines?.node ?? ''}`)
  t.same(refusing, [], 'none refuses it')
  t.equal(pkg.overrides?.cookie, '1.1.1', 'cookie@2 (node >= 22, via @fastify/cookie and light-my-request) is pinned to 1.1.1, which has the same API')
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.match(readme, `Node ${oldest.replace(/\.0$/, '')}+`, 'the README says the same')
})

t.test('the start script builds only when a source changed', async t => {
  t.match(pkg.scripts.start, /^node scripts\/build\.mjs --if-stale && node dist\/server\.js --migrate$/)
  t.match(pkg.scripts.prepare, /^node scripts\/build\.mjs$/, 'npm install builds (prepare)')
  const stamp = join(ROOT, 'dist', '.build-stamp')
  const before = [statSync(stamp).mtimeMs, statSync(join(ROOT, 'dist', 'server.js')).mtimeMs]
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.equal(`${r.stdout}${r.stderr}`, '', 'silent: nothing was built')
  t.same([statSync(stamp).mtimeMs, statSync(join(ROOT, 'dist', 'server.js')).mtimeMs], before, 'dist untouched')
})

t.test('npx codepair runs the local command at once, with no install into npm\'s cache', async t => {
  t.equal(pkg.bin, undefined, 'no package.json bin: npm exec would install the project into its npx cache first')
  t.equal(readlinkSync(join(ROOT, 'node_modules/.bin/codepair')), '../../dist/cli/main.js')
  // An empty cache and --offline: anything npm had to install would fail here.
  const cache = t.testdir()
  const r = spawnSync('npx', ['--offline', 'codepair', '--help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false' }, timeout: 120_000 })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^Usage: codepair <command>/)
})
