// RFC 6750 §3.1 errors of a protected resource. Each carries the HTTP status and the
// `error` value for WWW-Authenticate.

export class BearerError extends Error {
  constructor (readonly error: string, readonly status: number, readonly description?: string) {
    super(description ?? error)
    this.name = new.target.name
  }
}

/** The token is missing its signature, expired, for another audience, malformed… (401). */
export class InvalidTokenError extends BearerError {
  constructor (description?: string) { super('invalid_token', 401, description) }
}

/** The token is fine but lacks a scope the route needs (403). */
export class InsufficientScopeError extends BearerError {
  constructor (description: string, readonly requiredScopes: string[]) { super('insufficient_scope', 403, description) }
}

/** The issuer's keys could not be fetched, so the token cannot be checked (fail closed). */
export class KeysUnavailableError extends Error {
  readonly code = 'CODEPAIR_ERR_KEYS_UNAVAILABLE'
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'KeysUnavailableError'
  }
}

/** Whether the token was revoked could not be learnt (introspection unreachable): fail closed. */
export class RevocationUnavailableError extends Error {
  readonly code = 'CODEPAIR_ERR_REVOCATION_UNAVAILABLE'
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RevocationUnavailableError'
  }
}
