// Signing key administration: list and rotate (see KeyManager.rotate for the timeline).
import type { Config } from '../config.js'
import type { Emitter } from '../events/types.js'
import { KeysFromConfigurationError, signingKeyStore } from '../oauth/configured-keys.js'
import { KeyManager, type KeyView } from '../oauth/signing-keys.js'
import { AdminError } from './errors.js'
import { resolveSecrets } from '../secrets.js'
import type { Storage } from '../storage/index.js'

export interface KeyListing { kid: string, alg: string, state: string, createdAt: string, activateAt: string | null, retireAt: string | null }

const show = (k: KeyView): KeyListing => ({
  kid: k.kid,
  alg: k.alg,
  state: k.state,
  createdAt: k.createdAt.toISOString(),
  activateAt: k.activateAt?.toISOString() ?? null,
  retireAt: k.retireAt?.toISOString() ?? null
})

async function manager (config: Config, storage: Storage, now: () => number): Promise<KeyManager> {
  const secrets = await resolveSecrets(config, storage)
  const keys = new KeyManager(signingKeyStore(config.signingKeys, storage.signingKeys, now), secrets.keyEncryptionKey, config.signingAlg, now)
  await keys.init()
  return keys
}

export async function listKeys (config: Config, storage: Storage, now = Date.now): Promise<KeyListing[]> {
  return (await manager(config, storage, now)).list().map(show)
}

/**
 * Publishes a new key now; it signs after KEY_PUBLISH_SECONDS (`publishSeconds`
 * overrides, 0 for an emergency). The keys it replaces stay published for the
 * longest token lifetime after that, so no live token stops verifying.
 */
export async function rotateKeys (config: Config, storage: Storage, publishSeconds = config.keyPublishSeconds, now = Date.now, events?: Emitter): Promise<KeyListing[]> {
  const keys = await manager(config, storage, now)
  const longest = config.accessTokenTtlSeconds + config.clockToleranceSeconds
  try {
    const fresh = await keys.prepareRotation(publishSeconds)
    const data = { kid: fresh.kid, alg: fresh.alg, activateAt: (fresh.activateAt ?? fresh.createdAt).toISOString() }
    if (events === undefined) await keys.commitRotation(fresh, longest)
    else await events.emit('key.rotated', data, async outbox => { await keys.commitRotation(fresh, longest, outbox) })
  } catch (err) {
    if (err instanceof KeysFromConfigurationError) throw new AdminError(err.message, 'CONFLICT')
    throw err
  }
  return keys.list().map(show)
}
