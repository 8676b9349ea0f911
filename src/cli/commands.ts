// The `codepair` command tree (src/cli/main.ts runs it). The commands themselves are in
// src/cli/commands/, the shared behaviour (help, suggestions, errors, exit codes) in
// src/cli/program.ts.
import { EXIT_CODES_HELP } from '../exit-codes.js'
import { DEFAULT_DATABASE_URL } from '../storage/database-url.js'
import { GROUPS } from './commands/index.js'
import { createProgram, execute, type CliCommand } from './program.js'

export function buildProgram (): CliCommand {
  const program = createProgram('codepair')
  program
    .description('codepair administration: database, clients, users, APIs, signing keys, and a simulated device')
    .usage('<command> [options]')
    .helpCommand('help [command]', 'help for a command')
    .addHelpText('after', `
Run \`codepair <command> --help\` for a command's options (e.g. codepair client create --help).
Every command takes --json. Passwords come from a hidden prompt, or from standard input
with --password-stdin; never from arguments. DATABASE_URL (environment or .env) selects
the database; default ${DEFAULT_DATABASE_URL}.

${EXIT_CODES_HELP}`)
  for (const register of GROUPS) register(program)
  return program
}

export async function main (argv: string[]): Promise<void> {
  process.exitCode = await execute(buildProgram(), argv)
}
