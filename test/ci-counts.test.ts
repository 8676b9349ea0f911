// .ci/run closes with tap's own counts (scripts/tap-counts.mjs), whatever the stream holds.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

const ROOT = new URL('../', import.meta.url).pathname
// The run under test is a top-level tap run, not a child of this one.
const outsideTap = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(_?TAP|NODE_OPTIONS$)/i.test(k)))
const counts = (tap: string) => spawnSync(process.execPath, [join(ROOT, 'scripts/tap-counts.mjs')], { input: tap, encoding: 'utf8' })

t.test('a real tap run: the closing line carries tap\'s summary numbers', async t => {
  const dir = t.testdir({
    'package.json': JSON.stringify({ name: 'sample', type: 'module', private: true, tap: { 'allow-incomplete-coverage': true } }),
    'sample.test.mjs': `import t from 'tap'
t.pass('one')
t.test('nested', async t => { t.pass('two'); t.test('deeper', async t => { t.pass('three') }) })
t.test('skipped', { skip: 'not here' }, async () => {})
t.todo('later', async () => {})
t.test('a failing one', async t => { t.equal(1, 2, 'four') })
`
  })
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/tap/dist/esm/run.mjs'), '--reporter=tap', '--disable-coverage', 'sample.test.mjs'],
    { cwd: dir, encoding: 'utf8', timeout: 120_000, env: outsideTap() })
  const stream = `${run.stdout}${run.stderr}`
  writeFileSync(join(dir, 'results.tap'), stream)
  const summary = /^# \{ total: \d+.* \}$/m.exec(stream)?.[0]
  t.ok(summary, `tap printed its summary:\n${stream.slice(-600)}`)
  const n = Object.fromEntries([...(summary ?? '').matchAll(/(\w+): (\d+)/g)].map(m => [m[1], Number(m[2])]))
  t.equal(n.fail, 1, `the failing point is counted: ${summary}`)
  t.ok((n.pass ?? 0) >= 3, 'the passing points are counted')
  const r = counts(stream)
  t.equal(r.status, 1, 'a failure fails CI')
  t.equal(r.stdout.trim().split('\n').at(-1), `${n.pass ?? 0} passed, ${n.fail ?? 0} failed, ${(n.skip ?? 0) + (n.todo ?? 0)} skipped`)
})

t.test('the summary line wins over anything counted in the stream', async t => {
  const stream = ['ok 1 - a', '    ok 1 - nested', '    1..1', 'ok 2 - b', '1..2', '', '# { total: 901, pass: 901 }', '# time=1ms', ''].join('\n')
  const r = counts(stream)
  t.equal(r.stdout, '901 passed, 0 failed, 0 skipped\n')
  t.equal(r.status, 0)
})

t.test('no summary (tap crashed): a failure, never a pass', async t => {
  const r = counts('ok 1 - a\n')
  t.equal(r.status, 1)
  t.match(r.stdout, /0 passed, 1 failed, 0 skipped\n$/)
})
