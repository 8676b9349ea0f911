// Runs the built `codepair` bin as an administrator would.
import { spawn } from 'node:child_process'

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname

export interface Run { code: number | null, stdout: string, stderr: string }

export function cli (databaseUrl: string, args: string[], stdin?: string, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: databaseUrl }, cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin ?? '')
  })
}

