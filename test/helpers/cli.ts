// Runs the built `codepair` bin as an administrator would.
import { spawn } from 'node:child_process'

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname

export interface Run { code: number | null, stdout: string, stderr: string }

/** Collects a finished child's exit code and output. */
function collect (child: ReturnType<typeof spawn>): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', d => { stdout += d })
    child.stderr?.on('data', d => { stderr += d })
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

export function cli (databaseUrl: string, args: string[], stdin?: string, cwd?: string): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl }, cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  const done = collect(child)
  child.stdin.end(stdin ?? '')
  return done
}

/** The built CLI as another (non-root) user: what an operator without sudo would run. */
export function cliAs (uid: number, gid: number, databaseUrl: string, args: string[]): Promise<Run> {
  // Without tap's process-info hook, which would write into root's .tap folder: tap puts it
  // in NODE_OPTIONS of every child it sees spawned, so env(1) takes it out again.
  return collect(spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, BIN, ...args], {
    uid, gid, env: { ...process.env, DATABASE_URL: databaseUrl, HOME: '/tmp' }, stdio: ['ignore', 'pipe', 'pipe']
  }))
}

export interface Watched {
  child: ReturnType<typeof spawn>
  output: () => string
  exited: Promise<number | null>
  // Resolves once the combined output matches, or rejects with the output so far when the
  // child exits first or the bound passes. The bound is generous: CI runs two test files at
  // once on two cores, and a cold start of the CLI (Prisma client load) has taken >10 s there.
  waitFor: (pattern: RegExp | string, timeoutMs?: number) => Promise<void>
}

export function spawnWatched (args: string[], env: NodeJS.ProcessEnv = process.env): Watched {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let done = false
  child.stdout!.on('data', d => { out += d })
  child.stderr!.on('data', d => { out += d })
  const exited = new Promise<number | null>(resolve => child.on('close', code => { done = true; resolve(code) }))
  const matches = (p: RegExp | string) => typeof p === 'string' ? out.includes(p) : p.test(out)
  async function waitFor (pattern: RegExp | string, timeoutMs = 90_000) {
    const until = Date.now() + timeoutMs
    while (!matches(pattern)) {
      if (done) throw new Error(`process exited before printing ${String(pattern)}:\n${out}`)
      if (Date.now() > until) throw new Error(`no ${String(pattern)} after ${timeoutMs} ms:\n${out}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  return { child, output: () => out, exited, waitFor }
}
