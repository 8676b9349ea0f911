// HOOKS_MODULE: the packaged server's way to load hooks (buildApp's `hooks` option is the
// programmatic one). The module's default export, or its `hooks` export, is a Hooks object.
import { pathToFileURL } from 'node:url'
import type { Hooks } from './types.js'

export async function loadHooksModule (path: string): Promise<Hooks> {
  let mod: { default?: unknown, hooks?: unknown }
  try {
    mod = await import(pathToFileURL(path).href) as typeof mod
  } catch (err) {
    throw new Error(`HOOKS_MODULE: could not load ${path}: ${(err as Error).message}`, { cause: err })
  }
  const hooks = mod.hooks ?? mod.default
  if (typeof hooks !== 'object' || hooks === null) {
    throw new Error(`HOOKS_MODULE: ${path} must export its hooks as the default export or as \`hooks\` (an object with before, on and/or permissions)`)
  }
  return hooks as Hooks
}
