// What can go wrong on the way to and from an upstream provider, as the person should
// hear it. The routes turn each class into a page (src/routes/upstream-sign-in.ts).

/** The provider cannot be reached or answers with a server error: try later, or sign in another way. */
export class UpstreamUnavailableError extends Error {
  readonly code = 'CODEPAIR_ERR_UPSTREAM_UNAVAILABLE'
  constructor (readonly provider: string, options?: { cause?: unknown }) {
    super(`upstream provider ${provider} is unavailable`, options)
    this.name = 'UpstreamUnavailableError'
  }
}

/** The provider answered the authorization request with an error (OIDC Core §3.1.2.6), e.g. access_denied. */
export class UpstreamRefusedError extends Error {
  readonly code = 'CODEPAIR_ERR_UPSTREAM_REFUSED'
  constructor (readonly provider: string, readonly error: string, readonly description: string | undefined) {
    super(`upstream provider ${provider} answered ${error}`)
    this.name = 'UpstreamRefusedError'
  }
}

/**
 * The answer failed a check: state, nonce, ID token signature, issuer, audience, expiry,
 * PKCE. Either an attack or a misconfiguration; nobody is signed in.
 */
export class UpstreamInvalidResponseError extends Error {
  readonly code = 'CODEPAIR_ERR_UPSTREAM_INVALID'
  constructor (readonly provider: string, readonly check: string, options?: { cause?: unknown }) {
    super(`the answer of upstream provider ${provider} failed a check: ${check}`, options)
    this.name = 'UpstreamInvalidResponseError'
  }
}
