// codepair user …
import type { Command } from 'commander'
import { passwordProblem } from '../../accounts/password.js'
import { AdminError } from '../../admin/errors.js'
import { listUserFactors, resetUserFactors } from '../../admin/factors.js'
import { linkIdentity, listIdentities, unlinkIdentity } from '../../admin/identities.js'
import { createUser, listUsers, normalizeUsername, setUserEnabled, setUserPassword } from '../../admin/users.js'
import { EXIT } from '../../exit-codes.js'
import { upstreamProviders, withDb, withEvents } from '../context.js'
import { printRecord, printTable } from '../output.js'
import { readPassword } from '../password-input.js'
import { group, run } from '../program.js'

export function register (program: Command): void {
  const user = group(program, 'user', 'people who sign in to approve devices')

  user.command('create')
    .description('add a person (the password comes from a hidden prompt or --password-stdin)')
    .requiredOption('--username <NAME>', 'what they sign in with (case-insensitive)')
    .option('--name <FULL_NAME>', 'shown in ID tokens (profile scope)')
    .option('--email <ADDRESS>', 'shown in ID tokens (email scope)')
    .option('--password-stdin', 'read the password from standard input')
    .action(run(async ({ opts, json }) => {
      // A bad or taken username is refused before anyone types a password.
      const username = normalizeUsername(opts.username)
      // HOOKS_MODULE's before hooks may veto user.created; webhooks get it from the outbox.
      const u = await withEvents(async ({ db }, _config, events) => {
        if (await db.user.findUnique({ where: { username } }) !== null) throw new AdminError(`a user named "${username}" already exists`, 'CONFLICT')
        const password = await readPassword(opts.passwordStdin === true, p => passwordProblem(p, username), 'codepair user create')
        return await createUser(db, { username, password, name: opts.name, email: opts.email }, events)
      })
      printRecord(json, 'User created', u)
      return EXIT.ok
    }))

  user.command('list')
    .description('every person')
    .action(run(async ({ json }) => {
      printTable(json, await withDb(listUsers), ['username', 'name', 'email', 'enabled', 'createdAt'])
      return EXIT.ok
    }))

  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    user.command(verb)
      .description(enabled ? 'let a disabled person sign in again' : 'stop a person signing in; ends their sessions and refresh tokens')
      .argument('<USERNAME>')
      .action(run(async ({ args: [username = ''], json }) => {
        printRecord(json, `User ${verb}d`, await withDb(db => setUserEnabled(db, username, enabled)))
        return EXIT.ok
      }))
  }

  user.command('set-password')
    .description('change a password; ends the person\'s sessions and refresh tokens')
    .argument('<USERNAME>')
    .option('--password-stdin', 'read the password from standard input')
    .action(run(async ({ args: [username = ''], opts, json }) => {
      const password = await readPassword(opts.passwordStdin === true, p => passwordProblem(p, username), 'codepair user set-password')
      printRecord(json, 'Password changed (sessions, refresh tokens and device access revoked)', await withDb(db => setUserPassword(db, username, password)))
      return EXIT.ok
    }))

  user.command('factors')
    .description('a person\'s second-factor methods (authenticator apps, passkeys, recovery codes)')
    .argument('<USERNAME>')
    .action(run(async ({ args: [username = ''], json }) => {
      printTable(json, await withDb(db => listUserFactors(db, username)), ['method', 'name', 'createdAt', 'lastUsedAt', 'remaining'])
      return EXIT.ok
    }))

  user.command('reset-factors')
    .description('remove every second factor of a person who lost their device; ends their sessions')
    .argument('<USERNAME>')
    .action(run(async ({ args: [username = ''], json }) => {
      const r = await withDb(db => resetUserFactors(db, username))
      printRecord(json, 'Second factors removed', r, 'They sign in with their password next time and can set up a new method at /account/security.')
      return EXIT.ok
    }))

  user.command('identities')
    .description('the upstream sign-in identities (provider and subject) linked to a person')
    .argument('<USERNAME>')
    .action(run(async ({ args: [username = ''], json }) => {
      printTable(json, await withDb(db => listIdentities(db, username)), ['provider', 'subject', 'email', 'createdAt', 'lastLoginAt'])
      return EXIT.ok
    }))

  user.command('link')
    .description('let a person sign in with an upstream provider: their identity there (the ID token\'s sub) leads to this account')
    .argument('<USERNAME>')
    .requiredOption('--provider <NAME>', 'a provider name from UPSTREAM_PROVIDERS_FILE')
    .requiredOption('--subject <SUB>', 'the person\'s `sub` at that provider')
    .action(run(async ({ args: [username = ''], opts, json }) => {
      const providers = upstreamProviders()
      printRecord(json, 'Identity linked', await withDb(db => linkIdentity(db, providers, username, opts.provider, opts.subject)))
      return EXIT.ok
    }))

  user.command('unlink')
    .description('stop an upstream identity signing in to this person\'s account')
    .argument('<USERNAME>')
    .requiredOption('--provider <NAME>', 'the provider name')
    .requiredOption('--subject <SUB>', 'the identity\'s `sub` at that provider')
    .action(run(async ({ args: [username = ''], opts, json }) => {
      printRecord(json, 'Identity unlinked', await withDb(db => unlinkIdentity(db, username, opts.provider, opts.subject)))
      return EXIT.ok
    }))
}
