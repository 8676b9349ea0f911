// The command-line machinery every `codepair` command shares (commander underneath):
// `--help` on every command, suggestions for mistyped commands and options, option
// errors in our words, `--json` everywhere, and exit codes from one table
// (src/exit-codes.ts): 2 for any bad input, 3 for something named that does not exist.
//
// Adding a command: in a file under src/cli/commands/, take the group with
// `group(program, 'name', 'what it is')` (it is created once) and add
//   group.command('verb <ID>').description('…').option('--flag <VALUE>', '…')
//     .action(run(async ({ args, opts, json }) => { …; return EXIT.ok }))
// then list the file's register function in src/cli/commands/index.ts. Throw
// UsageError (exit 2) or AdminError for bad input; errors from storage are mapped here.
import { Command, CommanderError } from 'commander'
import { AdminError } from '../admin/errors.js'
import { ConfigError } from '../config.js'
import { EXIT, OperatorError, type ExitCode } from '../exit-codes.js'
import { isNotMigrated, NOT_MIGRATED } from '../storage/errors.js'

/** Bad input on the command line: exit 2, with a pointer to the command's help. */
export class UsageError extends Error {
  constructor (message: string, readonly command = 'codepair') {
    super(message)
    this.name = 'UsageError'
  }
}

/** What an action sees: positional arguments, options (camelCased by commander), --json. */
export interface ActionContext {
  args: string[]
  opts: Record<string, any>
  json: boolean
  command: Command
}

function fullName (cmd: Command): string {
  const names: string[] = []
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

// Commander's messages, in the words the rest of codepair uses.
const REWORD: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^unknown option '([^']+)'(?:\n\(Did you mean (\S+)\?\))?/, m => `unknown option ${m[1] ?? ''}${m[2] === undefined ? '' : ` (did you mean ${m[2]}?)`}`],
  [/^option '(-\S+, )?(--\S+)(?: <([^>]+)>)?' argument missing/, m => `${m[2] ?? ''} needs a value${m[3] === undefined ? '' : ` (${m[2] ?? ''} ${m[3]})`}`],
  [/^required option '(-\S+, )?(--\S+)(?: <([^>]+)>)?' not specified/, m => `${m[2] ?? ''} is required${m[3] === undefined ? '' : ` (${m[2] ?? ''} ${m[3]})`}`],
  [/^missing required argument '([^']+)'/, m => `${m[1] ?? ''} is required`],
  [/^too many arguments(?: for '[^']*')?\. Expected (\d+) arguments? but got (\d+)\./, m => `too many arguments: expected ${m[1] ?? ''}, got ${m[2] ?? ''}`],
  [/^unknown command '([^']+)'(?:\n\(Did you mean (\S+)\?\))?/, m => `unknown command "${m[1] ?? ''}"${m[2] === undefined ? '' : ' (did you mean "{parent} ' + m[2] + '"?)'}`]
]

export function reword (message: string, parent: string): string {
  const text = message.replace(/^error: /, '').trim()
  for (const [pattern, say] of REWORD) {
    const m = pattern.exec(text)
    if (m !== null) return say(m).replace('{parent}', parent)
  }
  return text
}

/** Every command of the tree is one of these, so each gets the same error handling. */
export class CliCommand extends Command {
  constructor (name?: string) {
    super(name)
    // Commander checks required options before unknown ones, so `--nmae x` would say
    // "--name is required" instead of suggesting --name: run() checks them instead.
    ;(this as unknown as { _checkForMissingMandatoryOptions: () => void })._checkForMissingMandatoryOptions = () => {}
  }

  override createCommand (name?: string): CliCommand {
    return new CliCommand(name)
  }

  override error (message: string): never {
    throw new UsageError(reword(message, fullName(this)), fullName(this))
  }
}

/** The group command `name` under `program`, created on first use (several files may add to one group). */
export function group (program: Command, name: string, description: string): Command {
  return program.commands.find(c => c.name() === name) ?? program.command(name).description(description)
}

let exitCode: ExitCode = EXIT.ok

/** Wraps an action: checks required options (after commander has refused unknown ones) and records its exit code. */
export function run (fn: (ctx: ActionContext) => Promise<ExitCode | undefined | void>): (...params: any[]) => Promise<void> {
  return async (...params: any[]) => {
    const command = params.at(-1) as Command
    const opts = command.opts()
    for (const option of command.options) {
      if (option.mandatory && command.getOptionValue(option.attributeName()) === undefined) {
        command.error(`required option '${option.flags}' not specified`)
      }
    }
    const args = command.args.slice(0, command.registeredArguments.length)
    exitCode = (await fn({ args, opts, json: opts.json === true, command })) ?? EXIT.ok
  }
}

/** Adds --json to every command that has an action (commander has no global leaf options). */
function addJsonEverywhere (cmd: Command): void {
  for (const sub of cmd.commands) {
    if (sub.commands.length === 0) sub.option('--json', 'machine-readable output')
    addJsonEverywhere(sub)
  }
}

export function exitCodeFor (err: unknown): ExitCode {
  if (err instanceof UsageError) return EXIT.usage
  if (err instanceof ConfigError) return EXIT.config
  if (err instanceof OperatorError) return err.exitCode
  if (err instanceof AdminError) return err.code === 'NOT_FOUND' ? EXIT.notFound : EXIT.usage
  if (isNotMigrated(err)) return EXIT.notMigrated
  return EXIT.failure
}

export function messageFor (err: unknown): string {
  if (isNotMigrated(err)) return NOT_MIGRATED
  if (err instanceof UsageError) return `${err.message}\nSee \`${err.command} --help\`.`
  return err instanceof Error ? err.message : String(err)
}

export interface Io { stdout: { write (s: string): unknown }, stderr: { write (s: string): unknown } }

/**
 * The root command, configured before any subcommand is added: commander copies these
 * settings into each subcommand when it is created.
 */
export function createProgram (name: string, io: Io = process): CliCommand {
  const program = new CliCommand(name)
  program
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: s => { io.stdout.write(s) },
      // Only help shown for a missing command (`codepair`, `codepair client`) comes here.
      writeErr: s => { io.stderr.write(s) },
      outputError: () => {} // errors go through CliCommand.error → UsageError, printed by execute()
    })
  return program
}

/** Runs argv, prints any error once, and returns the exit code. */
export async function execute (program: CliCommand, argv: string[], io: Io = process): Promise<ExitCode> {
  exitCode = EXIT.ok
  addJsonEverywhere(program)
  const json = argv.includes('--json')
  try {
    await program.parseAsync(argv, { from: 'user' })
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are answers (0); help shown for a missing command is bad input (2).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok
      if (err.code === 'commander.help') return EXIT.usage
    }
    const code = exitCodeFor(err)
    const message = messageFor(err)
    if (json) io.stderr.write(`${JSON.stringify({ error: err instanceof UsageError ? err.message : message })}\n`)
    else io.stderr.write(`${err instanceof UsageError ? err.command : 'codepair'}: ${message}\n`)
    // Not an expected failure: CODEPAIR_DEBUG=1 shows where it came from.
    if (code === EXIT.failure && process.env.CODEPAIR_DEBUG === '1' && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n`)
    return code
  }
}
