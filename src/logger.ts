// Where logs go. JSON lines (pino) for machines and log collectors; readable lines
// (pino-pretty) when a person watches a development server in a terminal. pino-pretty
// runs in this thread and writes synchronously (not as a transport worker), so the
// start-up text printed after "codepair is ready" never lands between log lines.
import pinoPretty from 'pino-pretty'
import type { Config } from './config.js'

export type LogFormat = 'auto' | 'json' | 'pretty'

export function usePrettyLogs (format: LogFormat, mode: Config['mode'], isTTY = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && mode === 'development' && isTTY)
}

/** The stream for Fastify's logger, or undefined for pino's own JSON on stdout. */
export function logStream (config: Pick<Config, 'logFormat' | 'mode'>): { write (line: string): void } | undefined {
  if (!usePrettyLogs(config.logFormat, config.mode)) return undefined
  return pinoPretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    singleLine: true
  })
}
