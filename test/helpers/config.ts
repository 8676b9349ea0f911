import { ConfigError, loadConfig } from '../../src/config.js'

/** The message loadConfig refuses `env` with; throws if it accepts it. */
export function configProblems (env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('expected a ConfigError')
}
