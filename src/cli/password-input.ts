import { read } from 'read'
import { UsageError } from './program.js'

const TRIES = 3

/** All of standard input without its final line break: secrets never come from argv (`ps`, shell history). */
export async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/**
 * From stdin with --password-stdin (never argv: it shows in `ps` and shell history), else
 * a hidden prompt. At the prompt the rules are checked before the confirmation, and a
 * refused or mistyped password is asked for again (three tries) instead of ending the
 * command. Whatever is refused in the end is bad input (exit 2).
 */
export async function readPassword (fromStdin: boolean, problem: (password: string) => string | undefined, command: string): Promise<string> {
  if (fromStdin) {
    const password = await readStdin()
    const wrong = problem(password)
    if (wrong !== undefined) throw new UsageError(wrong, command)
    return password
  }
  if (process.stdin.isTTY !== true) {
    throw new UsageError('no terminal to ask for the password: pipe it in with --password-stdin', command)
  }
  let last = ''
  for (let attempt = 1; attempt <= TRIES; attempt++) {
    const first = await read({ prompt: 'Password: ', silent: true, replace: '*' })
    last = problem(first) ?? ''
    if (last === '') {
      const again = await read({ prompt: 'Repeat password: ', silent: true, replace: '*' })
      if (first === again) return first
      last = 'the two passwords differ'
    }
    if (attempt < TRIES) process.stderr.write(`${last}; try again.\n`)
  }
  throw new UsageError(`${last} (${TRIES} tries)`, command)
}
