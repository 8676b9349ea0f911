// The registry of the methods SECOND_FACTOR_METHODS enables.
import type { Config } from '../../config.js'
import type { Secrets } from '../../secrets.js'
import type { Storage } from '../../storage/index.js'
import { PasskeyMethod } from './passkey.js'
import { RecoveryCodesMethod } from './recovery-codes.js'
import { FactorRegistry } from './registry.js'
import { TotpMethod } from './totp.js'

export function createFactorRegistry (config: Config, storage: Storage, secrets: Secrets): FactorRegistry {
  const registry = new FactorRegistry()
  const enabled = new Set(config.secondFactor.methods)
  if (enabled.has('totp')) registry.register(new TotpMethod(storage.factors, secrets.factorSecretKey, { issuerLabel: `codepair (${new URL(config.issuer).host})` }))
  if (enabled.has('passkey')) {
    // WebAuthn §5.1.3: the RP id is the issuer's host name, the origin the issuer's.
    const issuer = new URL(config.issuer)
    registry.register(new PasskeyMethod(storage.factors, { rpId: issuer.hostname, origin: issuer.origin, rpName: `codepair (${issuer.host})` }))
  }
  if (enabled.has('recovery_codes')) registry.register(new RecoveryCodesMethod(storage.factors, storage.recoveryCodes, secrets.recoveryCodeKey))
  return registry
}
