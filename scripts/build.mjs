#!/usr/bin/env node
// Builds codepair: the two Prisma clients, then TypeScript into dist/, then the
// `codepair` command in node_modules/.bin.
//
//   node scripts/build.mjs             build (npm run build, and npm install's prepare)
//   node scripts/build.mjs --if-stale  build only when a source is newer than the last
//                                      build (npm start, npm test): `npm install && npm
//                                      start` builds once, not twice
//
// Why node_modules/.bin/codepair is linked here instead of declared as package.json
// "bin": npm exec (npx) installs a package that declares a bin into its own cache before
// running it, even the project itself (15-20 s on the first call, and a shared cache
// that a concurrent call can leave half-written); a plain file in node_modules/.bin is
// run at once.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const stamp = join(root, 'dist', '.build-stamp')
const INPUTS = ['src', 'prisma/sqlite/schema.prisma', 'prisma/postgresql/schema.prisma', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'scripts/build.mjs', 'scripts/prisma.mjs']

function newestInput () {
  let newest = 0
  const visit = (path) => {
    if (!existsSync(path)) return
    const s = statSync(path)
    if (s.isDirectory()) {
      if (path === join(root, 'src', 'generated')) return
      for (const name of readdirSync(path)) visit(join(path, name))
    } else newest = Math.max(newest, s.mtimeMs)
  }
  for (const input of INPUTS) visit(join(root, input))
  return newest
}

function upToDate () {
  if (!existsSync(stamp) || !existsSync(join(root, 'src', 'generated', 'prisma-sqlite')) || !existsSync(join(root, 'src', 'generated', 'prisma-postgresql'))) return false
  return statSync(stamp).mtimeMs >= newestInput()
}

function run (what, args, quiet) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' })
  if (r.status !== 0) {
    if (quiet) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`)
    process.stderr.write(`build: ${what} failed\n`)
    process.exit(r.status ?? 1)
  }
}

function linkBin () {
  const main = join(root, 'dist', 'cli', 'main.js')
  chmodSync(main, 0o755)
  const bin = join(root, 'node_modules', '.bin')
  mkdirSync(bin, { recursive: true })
  const link = join(bin, 'codepair')
  rmSync(link, { force: true })
  symlinkSync('../../dist/cli/main.js', link)
}

if (process.argv.includes('--if-stale') && upToDate()) {
  linkBin()
} else {
  const started = newestInput()
  // Prisma's generate prints four lines of chatter per client: shown only when it fails.
  run('prisma generate', [join(root, 'scripts', 'prisma.mjs'), 'generate-all'], true)
  run('tsc', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], false)
  linkBin()
  mkdirSync(dirname(stamp), { recursive: true })
  writeFileSync(stamp, `${new Date().toISOString()}\n`)
  // A source saved during the build must trigger the next one.
  if (newestInput() > started) rmSync(stamp, { force: true })
}
