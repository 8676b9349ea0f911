// Permission providers (the operator's hooks.permissions, one per audience) behind the
// core's PermissionCheck: each call runs within HOOK_TIMEOUT_MS, and a provider that
// throws, hangs or answers something malformed refuses the token with 503
// temporarily_unavailable (a device keeps polling, a client retries), never a 500.
import { TemporarilyUnavailableError } from '../oauth/errors.js'
import type { PermissionCheck } from '../oauth/token-service.js'
import { runHook } from './run-hook.js'
import type { HookContext, PermissionProvider } from './types.js'

/** A claim has to fit in a token sent on every API call. */
export const MAX_PERMISSIONS_BYTES = 4096

function invalid (result: unknown): string | null {
  if (typeof result !== 'object' || result === null) return 'not an object'
  const r = result as { deny?: unknown, scopes?: unknown, permissions?: unknown }
  if ('deny' in r) return typeof r.deny === 'string' && r.deny !== '' ? null : 'deny must be a non-empty string'
  if (!Array.isArray(r.scopes) || !r.scopes.every(s => typeof s === 'string')) return 'scopes must be an array of strings'
  if (r.permissions !== undefined) {
    if (typeof r.permissions !== 'object' || r.permissions === null || Array.isArray(r.permissions)) return 'permissions must be a JSON object'
    const size = Buffer.byteLength(JSON.stringify(r.permissions))
    if (size > MAX_PERMISSIONS_BYTES) return `permissions is ${size} bytes of JSON, more than ${MAX_PERMISSIONS_BYTES}`
  }
  return null
}

export function permissionCheck (providers: Map<string, PermissionProvider>, log: HookContext['log'], timeoutMs: number): PermissionCheck | undefined {
  if (providers.size === 0) return undefined
  return {
    async decide ({ audience, user, clientId, scopes, grantType }) {
      const provider = providers.get(audience)
      if (provider === undefined) return null
      const request = { audience, user: { id: user.id, username: user.username, name: user.name, email: user.email }, clientId, scopes: [...scopes], grantType }
      let result: unknown
      try {
        result = await runHook(ctx => provider(request, ctx), log, timeoutMs)
      } catch (err) {
        log.error({ err, audience }, 'the permission provider failed; no token issued')
        throw new TemporarilyUnavailableError('the permissions for this API could not be checked; try again shortly', 5)
      }
      const problem = invalid(result)
      if (problem !== null) {
        log.error({ audience, problem }, 'the permission provider answered something unusable; no token issued')
        throw new TemporarilyUnavailableError('the permissions for this API could not be checked; try again shortly', 5)
      }
      const r = result as { deny: string } | { scopes: string[], permissions?: Record<string, unknown> }
      if ('deny' in r) return r
      // Never more than requested: whatever else the provider names is dropped.
      return { scopes: r.scopes.filter(s => scopes.includes(s)), ...(r.permissions === undefined ? {} : { permissions: r.permissions }) }
    }
  }
}
