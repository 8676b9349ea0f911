#!/usr/bin/env node
// Reads a raw TAP stream (tap --reporter=tap) on stdin and prints tap's own closing
// counts as "N passed, N failed, N skipped" — the numbers of tap's summary line
// (`# { total: 901, pass: 901 }`), never a recount, so CI and tap always agree. A stream
// without that line (the runner crashed) is a failure.
import { readFileSync } from 'node:fs'

const lines = readFileSync(0, 'utf8').split('\n')
const summary = lines.findLast(line => /^# \{ .*total: \d+.* \}\s*$/.test(line))

if (summary === undefined) {
  process.stdout.write('tap printed no summary line (did the run crash?)\n0 passed, 1 failed, 0 skipped\n')
  process.exitCode = 1
} else {
  const counts = Object.fromEntries([...summary.matchAll(/(\w+): (\d+)/g)].map(m => [m[1], Number(m[2])]))
  const passed = counts.pass ?? 0
  const failed = counts.fail ?? 0
  const skipped = (counts.skip ?? 0) + (counts.todo ?? 0)
  process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0
}
