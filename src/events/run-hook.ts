// Runs one hook with a deadline: a hook that hangs is abandoned (and told so through its
// AbortSignal) after HOOK_TIMEOUT_MS, one that throws is caught; the caller decides what
// a failure means (observers: logged; guards and permission providers: refused).
import type { HookContext } from './types.js'

export class HookTimeoutError extends Error {
  readonly code = 'CODEPAIR_ERR_HOOK_TIMEOUT'
  constructor (ms: number) {
    super(`the hook did not finish within ${ms} ms (HOOK_TIMEOUT_MS)`)
    this.name = 'HookTimeoutError'
  }
}

export async function runHook<T> (fn: (ctx: HookContext) => T | Promise<T>, log: HookContext['log'], timeoutMs: number): Promise<Awaited<T>> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new HookTimeoutError(timeoutMs)
      controller.abort(err)
      reject(err)
    }, timeoutMs)
  })
  try {
    // Promise.resolve().then: a hook that throws synchronously is caught like one that rejects.
    return await Promise.race([Promise.resolve().then(async () => await fn({ log, signal: controller.signal })), deadline])
  } finally {
    clearTimeout(timer)
  }
}
