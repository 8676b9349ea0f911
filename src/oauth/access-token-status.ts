// The revocation check behind codepair's own requireScope: a JWT access token verified by
// signature is still refused once its grant, user, client or jti is revoked (RFC 7009 §2,
// RFC 9068 §1 leaves revocation to the issuer). One read per request, in storage.
import type { RevocationCheck } from '../kits/resource/revocation.js'
import type { VerifiedToken } from '../kits/resource/verifier.js'
import type { AccessTokenRef, AccessTokenStatusStore } from './stores.js'

export function accessTokenRef (v: VerifiedToken): AccessTokenRef {
  return { jti: v.jti, userId: v.subject, clientId: v.clientId, grantId: v.grantId ?? null }
}

/** requireScope's check against storage (storage errors propagate: 503, fail closed). */
export function storedRevocationCheck (store: AccessTokenStatusStore): RevocationCheck {
  return { isActive: async (_token, verified) => await store.isLive(accessTokenRef(verified)) }
}
