// `codepair user create` at a real terminal (a pseudo-terminal from util-linux `script`):
// the rules are checked before the confirmation, a mistake is asked again, and giving up
// is bad input (exit 2).
import { spawn } from 'node:child_process'
import t from 'tap'
import { freshSqliteUrl } from '../helpers/db.js'

const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname

function atTerminal (databaseUrl: string, args: string) {
  const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} ${args}`, '/dev/null'], { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  const exited = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
  let seen = 0
  /** Waits for the next occurrence of `text` after the last one seen. */
  async function expect (text: string): Promise<void> {
    const until = Date.now() + 90_000
    for (;;) {
      const at = out.indexOf(text, seen)
      if (at >= 0) { seen = at + text.length; break }
      if (Date.now() > until) throw new Error(`no "${text}" after 90 s:\n${out}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  /** Waits for a prompt, then types a line. */
  async function answer (prompt: string, typed: string): Promise<void> {
    await expect(prompt)
    child.stdin.write(`${typed}\r`)
  }
  return { answer, expect, exited, output: () => out, child }
}

t.test('rules before the confirmation, and a second chance instead of an exit', async t => {
  const url = freshSqliteUrl(t)
  const term = atTerminal(url, 'user create --username erin')
  t.teardown(() => { term.child.kill('SIGKILL') })
  await term.answer('Password: ', 'short')
  await term.expect('at least 8 characters; try again.')
  t.notMatch(term.output(), 'Repeat password', 'a password that breaks the rules is refused before the confirmation')
  await term.answer('Password: ', 'a long enough password')
  await term.answer('Repeat password: ', 'a different password')
  await term.expect('the two passwords differ; try again.')
  await term.answer('Password: ', 'a long enough password')
  await term.answer('Repeat password: ', 'a long enough password')
  t.equal(await term.exited, 0, term.output())
  t.match(term.output(), /User created\r?\n\s+id:/)
  t.notMatch(term.output(), 'a long enough password', 'the password is never echoed')
})

t.test('three refusals: exit 2 with the reason', async t => {
  const url = freshSqliteUrl(t)
  const term = atTerminal(url, 'user create --username frank')
  t.teardown(() => { term.child.kill('SIGKILL') })
  for (let i = 0; i < 3; i++) {
    await term.answer('Password: ', 'a long enough password')
    await term.answer('Repeat password: ', `not the same ${i}`)
  }
  t.equal(await term.exited, 2, term.output())
  t.match(term.output(), 'codepair user create: the two passwords differ (3 tries)')
})

t.test('a taken username is refused before anyone types a password', async t => {
  const url = freshSqliteUrl(t)
  const first = atTerminal(url, 'user create --username gina')
  t.teardown(() => { first.child.kill('SIGKILL') })
  await first.answer('Password: ', 'a long enough password')
  await first.answer('Repeat password: ', 'a long enough password')
  t.equal(await first.exited, 0, first.output())
  const again = atTerminal(url, 'user create --username GINA')
  t.equal(await again.exited, 2)
  t.match(again.output(), 'a user named "gina" already exists')
  t.notMatch(again.output(), 'Password:')
})
