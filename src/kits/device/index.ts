// codepair/device — the device side of RFC 8628 for Node devices and CLIs.
export { DeviceClient, defaultSleep, type DeviceAuthorization, type DeviceClientOptions, type PollOptions, type PollState, type ServerMetadata, type TokenSet } from './client.js'
export { DeviceSession, type DeviceSessionOptions } from './session.js'
export { FileTokenStore, MemoryTokenStore, type TokenStore } from './token-store.js'
export { AccessDeniedError, DeviceCodeExpiredError, DeviceKitError, NetworkError, OAuthProtocolError, PairingRequiredError } from './errors.js'
