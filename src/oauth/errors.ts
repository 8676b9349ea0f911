// One class per RFC error code (RFC 6749 §5.2, RFC 8628 §3.5, RFC 7009 §2.2.1,
// RFC 8707 §2). src/plugins/error-handler.ts is the one place that turns them into
// responses: {error, error_description} with the status each class carries.

export abstract class OAuthError extends Error {
  abstract readonly error: string
  readonly status: number = 400
  constructor (readonly description?: string) {
    super(description)
    this.name = new.target.name
  }
}

export class InvalidRequestError extends OAuthError { readonly error = 'invalid_request' }

/** RFC 6749 §5.2: 401, with WWW-Authenticate when the client tried HTTP Basic. */
export class InvalidClientError extends OAuthError {
  readonly error = 'invalid_client'
  override readonly status = 401
  constructor (description?: string, readonly usedBasicAuth = false) { super(description) }
}

export class InvalidGrantError extends OAuthError { readonly error = 'invalid_grant' }
export class UnauthorizedClientError extends OAuthError { readonly error = 'unauthorized_client' }
export class UnsupportedGrantTypeError extends OAuthError { readonly error = 'unsupported_grant_type' }
export class InvalidScopeError extends OAuthError { readonly error = 'invalid_scope' }
export class InvalidTargetError extends OAuthError { readonly error = 'invalid_target' }
export class UnsupportedTokenTypeError extends OAuthError { readonly error = 'unsupported_token_type' }

// RFC 8628 §3.5 polling answers.
export class AuthorizationPendingError extends OAuthError { readonly error = 'authorization_pending' }
export class SlowDownError extends OAuthError {
  readonly error = 'slow_down'
  constructor (description: string, readonly interval: number) { super(description) }
}
export class AccessDeniedError extends OAuthError { readonly error = 'access_denied' }
export class ExpiredTokenError extends OAuthError { readonly error = 'expired_token' }

export class ServerError extends OAuthError {
  readonly error = 'server_error'
  override readonly status = 500
}

/**
 * 503 + Retry-After. Devices stop polling on any error but authorization_pending and
 * slow_down, so a transient failure (database down, over capacity) must not look
 * like a final one (RFC-CHECKLIST "Reliability").
 */
export class TemporarilyUnavailableError extends OAuthError {
  readonly error = 'temporarily_unavailable'
  override readonly status: number = 503
  constructor (description: string, readonly retryAfterSeconds = 5) { super(description) }
}

/** 429 + Retry-After: this caller asked too often (a rate limit, not an outage). */
export class TooManyRequestsError extends TemporarilyUnavailableError {
  override readonly status: number = 429
}
