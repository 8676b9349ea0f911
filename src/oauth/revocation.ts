// RFC 7009 token revocation.
import type { Emitter } from '../events/types.js'
import type { Clock } from './clock.js'
import { sha256 } from './codes.js'
import { InvalidRequestError } from './errors.js'
import type { ClientRecord, RefreshTokenStore, RevokedTokenStore } from './stores.js'
import { InvalidTokenError } from '../kits/resource/errors.js'
import { looksLikeJwt, type Verifier } from '../kits/resource/verifier.js'

export class RevocationService {
  constructor (
    private readonly refreshTokens: RefreshTokenStore,
    private readonly revoked: RevokedTokenStore,
    private readonly verifier: Verifier,
    private readonly clock: Clock,
    private readonly events: Emitter
  ) {}

  /**
   * §2.2: an unknown, invalid or expired token is answered like a revoked one (200);
   * the hint only orders the search (§2.1). A token issued to another client is refused.
   */
  async revoke (token: string, client: ClientRecord): Promise<void> {
    const now = new Date(this.clock())
    if (looksLikeJwt(token)) {
      let claims
      try {
        claims = await this.verifier.verify(token)
      } catch (err) {
        if (err instanceof InvalidTokenError) return
        throw err
      }
      if (claims.clientId !== client.id) throw new InvalidRequestError('the token was not issued to this client')
      await this.revoked.revoke(claims.jti, new Date(claims.expiresAt * 1000))
      return
    }
    const rec = await this.refreshTokens.findByHash(sha256(token))
    if (rec === null) return
    if (rec.clientId !== client.id) throw new InvalidRequestError('the token was not issued to this client')
    // Revoking a refresh token ends its whole family and the device grant behind it.
    await this.events.emit('grant.revoked', { grantId: rec.grantId, clientId: rec.clientId, userId: rec.userId, reason: 'revocation_endpoint' },
      async outbox => await this.refreshTokens.revokeFamily(rec.familyId, rec.grantId, now, outbox))
  }
}
