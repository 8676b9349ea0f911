// Exit codes of `codepair` and the server, one table (README "Exit codes"). Scripts and
// supervisors branch on them, so a code never changes meaning. Start-up failures an
// operator can fix are one line and one of these codes; only a bug (1) prints a stack.
// The high ones follow BSD sysexits.h where one fits.

export const EXIT = {
  ok: 0,
  /** Anything unexpected: a bug or an error we did not foresee (the stack is printed). */
  failure: 1,
  /** Bad input on the command line: unknown command or option, missing value, refused value. */
  usage: 2,
  /** The client, user or resource named does not exist. */
  notFound: 3,
  /** `codepair device`: the person denied the request / the code expired. */
  deviceDenied: 10,
  deviceExpired: 11,
  /** The database has pending migrations (EX_DATAERR). */
  notMigrated: 65,
  /** The database cannot be reached, does not exist, or refuses the credentials (EX_UNAVAILABLE). */
  databaseUnavailable: 69,
  /** Another process holds the database: migrating could not wait longer, or restore found it in use (EX_TEMPFAIL: try again). */
  databaseBusy: 75,
  /** SECRET_KEY cannot open what the database holds: it differs from the one used before (EX_NOPERM). */
  keyMismatch: 77,
  /** Invalid configuration (EX_CONFIG). */
  config: 78,
  /** The port is taken (98 is EADDRINUSE on Linux). */
  portInUse: 98
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** A failure an operator can fix: one line (or a short paragraph) and its exit code, no stack. */
export class OperatorError extends Error {
  constructor (message: string, readonly exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options)
    this.name = 'OperatorError'
  }
}

/** The table as `codepair --help` prints it. */
export const EXIT_CODES_HELP = `Exit codes: 0 done; 1 unexpected error; 2 bad input; 3 not found; 10 denied and 11 expired
(codepair device); 65 database not migrated; 69 database unreachable or missing; 75 database
busy (another process holds it); 77 SECRET_KEY mismatch; 78 invalid configuration; 98 port in use.`
