// RFC 7662 token introspection. Anything not active is exactly {"active": false}
// (§2.2), whatever the reason; storage failures propagate (503), never "active".
import type { AccountGuard } from '../accounts/account-guard.js'
import { accessTokenRef } from './access-token-status.js'
import type { Clock } from './clock.js'
import { sha256 } from './codes.js'
import { InvalidClientError } from './errors.js'
import type { AccessTokenStatusStore, ClientRecord, RefreshTokenStore } from './stores.js'
import { InvalidTokenError } from '../kits/resource/errors.js'
import { looksLikeJwt, type Verifier } from '../kits/resource/verifier.js'

export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>)

const INACTIVE: Introspection = Object.freeze({ active: false })

export class IntrospectionService {
  constructor (
    private readonly issuer: string,
    private readonly refreshTokens: RefreshTokenStore,
    private readonly accessTokens: AccessTokenStatusStore,
    private readonly verifier: Verifier,
    private readonly accounts: AccountGuard,
    private readonly clock: Clock
  ) {}

  async introspect (token: string, caller: ClientRecord): Promise<Introspection> {
    // §2.1: the caller must authenticate; public clients cannot.
    if (caller.type !== 'confidential') throw new InvalidClientError('introspection requires a confidential client')
    const now = this.clock()
    if (looksLikeJwt(token)) {
      let c
      try {
        c = await this.verifier.verify(token)
      } catch (err) {
        if (err instanceof InvalidTokenError) return INACTIVE
        throw err
      }
      // Its grant revoked (device disconnected, refresh family ended, code replayed), its
      // user or client disabled or deleted, or its jti revoked (RFC 7009).
      if (!await this.accessTokens.isLive(accessTokenRef(c))) return INACTIVE
      const user = await this.accounts.activeUser(c.subject, new Date(now))
      if (user === null) return INACTIVE
      return {
        active: true,
        scope: c.scopes.join(' '),
        client_id: c.clientId,
        username: user.username,
        token_type: 'Bearer',
        exp: c.expiresAt,
        iat: c.issuedAt,
        sub: c.subject,
        aud: c.audience.length === 1 ? c.audience[0] : c.audience,
        iss: this.issuer,
        jti: c.jti
      }
    }
    const rec = await this.refreshTokens.findByHash(sha256(token))
    if (rec === null || rec.revokedAt !== null || rec.grantRevokedAt !== null || rec.rotatedAt !== null) return INACTIVE
    const exp = Math.min(rec.expiresAt.getTime(), rec.idleExpiresAt.getTime())
    if (now >= exp) return INACTIVE
    const user = await this.accounts.activeUser(rec.userId, new Date(now))
    if (user === null) return INACTIVE
    return {
      active: true,
      scope: rec.scope,
      client_id: rec.clientId,
      username: user.username,
      token_type: 'refresh_token',
      exp: Math.floor(exp / 1000),
      iat: Math.floor(rec.createdAt.getTime() / 1000),
      sub: rec.userId,
      iss: this.issuer
    }
  }
}
