// Typed errors of the device kit: protocol answers, network trouble, and the one a
// device must act on — pairing again.

export class DeviceKitError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** An RFC 6749 §5.2 error from the server that ends the operation. */
export class OAuthProtocolError extends DeviceKitError {
  constructor (
    readonly error: string,
    readonly description: string | undefined,
    readonly status: number,
    /** From Retry-After on a 429 or 503: when asking again may succeed. */
    readonly retryAfterSeconds?: number
  ) {
    super(description === undefined ? error : `${error}: ${description}`)
  }
}

/** The person denied the request (RFC 8628 §3.5 access_denied). */
export class AccessDeniedError extends OAuthProtocolError {}

/** The device code expired before the person approved (RFC 8628 §3.5 expired_token). */
export class DeviceCodeExpiredError extends OAuthProtocolError {}

/** The server could not be reached or answered something that is not OAuth. */
export class NetworkError extends DeviceKitError {}

/** No usable tokens any more (none stored, or the refresh token is dead): run the device flow again. */
export class PairingRequiredError extends DeviceKitError {}
