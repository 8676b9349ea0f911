#!/usr/bin/env node
// Reads a raw TAP stream (tap --reporter=tap) on stdin and prints the real counts of
// test points as "N passed, N failed, N skipped". Subtest summary lines are not
// counted again, except a failed subtest with no failing point inside (a test file
// that crashed before asserting anything), which counts as one failure.
import { readFileSync } from 'node:fs'

const lines = readFileSync(0, 'utf8').split('\n')
let passed = 0
let failed = 0
let skipped = 0
const open = [] // [{ indent, failures }]

for (const line of lines) {
  const sub = /^(\s*)# Subtest: /.exec(line)
  if (sub) { open.push({ indent: sub[1].length, failures: 0 }); continue }
  const point = /^(\s*)(not ok|ok) \d+(.*)$/.exec(line)
  if (!point) continue
  const indent = point[1].length
  const ok = point[2] === 'ok'
  const top = open.at(-1)
  if (top !== undefined && top.indent === indent) {
    open.pop()
    if (!ok && top.failures === 0) { failed++; bump() }
    if (!ok && top.failures > 0) bump(top.failures)
    continue
  }
  if (/#\s*(SKIP|TODO)\b/i.test(point[3])) skipped++
  else if (ok) passed++
  else { failed++; bump() }
}

function bump (n = 1) { const parent = open.at(-1); if (parent !== undefined) parent.failures += n }

process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`)
process.exitCode = failed > 0 || passed === 0 ? 1 : 0
