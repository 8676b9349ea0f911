// OpenID Connect standard claims released per scope (OIDC Core §5.4).
import type { UserRecord } from './stores.js'

export const CLAIMS_SUPPORTED = ['sub', 'preferred_username', 'name', 'email']

export function claimsFor (user: UserRecord, scopes: string[]): Record<string, string> {
  const claims: Record<string, string> = {}
  if (scopes.includes('profile')) {
    claims.preferred_username = user.username
    if (user.name !== null) claims.name = user.name
  }
  if (scopes.includes('email') && user.email !== null) claims.email = user.email
  return claims
}
