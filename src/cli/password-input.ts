import { read } from 'read'

/** All of standard input without its final line break: secrets never come from argv (`ps`, shell history). */
export async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** From stdin with --password-stdin (never argv: it shows in `ps` and shell history), else a hidden prompt. */
export async function readPassword (fromStdin: boolean): Promise<string> {
  if (fromStdin) return await readStdin()
  if (process.stdin.isTTY !== true) {
    throw new Error('no terminal to ask for the password: pipe it in with --password-stdin')
  }
  const first = await read({ prompt: 'Password: ', silent: true, replace: '*' })
  const again = await read({ prompt: 'Repeat password: ', silent: true, replace: '*' })
  if (first !== again) throw new Error('the two passwords differ')
  return first
}
