// What start-up failures look like: one clear line and an exit code from the table in
// exit-codes.ts for everything an operator can fix, a stack trace only for bugs.
import { createServer } from 'node:net'
import { ConfigError } from './config.js'
import { EXIT, OperatorError } from './exit-codes.js'

/** Binds and releases the port before the database is touched, so "port in use" is the message, not a migration error. */
export async function ensurePortFree (host: string, port: number): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  }).catch((err: unknown) => { throw listenError(err, host, port) ?? err })
}

/** EADDRINUSE and friends from listen(), as one line naming PORT or HOST. */
export function listenError (err: unknown, host: string, port: number): OperatorError | null {
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'EADDRINUSE':
      return new OperatorError(`port ${port} on ${host} is already in use (PORT): stop whatever is listening there, or choose another port, e.g. PORT=${port + 1}`, EXIT.portInUse, { cause: err })
    case 'EACCES':
      return new OperatorError(`not allowed to listen on port ${port} (PORT): ports below 1024 need privileges; choose another, e.g. PORT=3000`, EXIT.config, { cause: err })
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new OperatorError(`cannot listen on ${host} (HOST): it is not an address of this machine`, EXIT.config, { cause: err })
    default:
      return null
  }
}

/** Writes the failure to stderr and returns the exit code. */
export function reportStartupFailure (err: unknown, write = (s: string) => { process.stderr.write(s) }): number {
  if (err instanceof ConfigError) {
    write(`codepair: ${err.message}\n`)
    return EXIT.config
  }
  if (err instanceof OperatorError) {
    write(`codepair: ${err.message}\n`)
    return err.exitCode
  }
  write(`codepair: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  return EXIT.failure
}
