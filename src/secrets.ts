// Keys derived from the one master secret (HKDF, RFC 5869), each for one purpose.
import { hkdfSync, randomBytes } from 'node:crypto'
import type { Config } from './config.js'
import type { Storage } from './storage/index.js'
import { getOrCreateSetting } from './storage/settings-store.js'

export interface Secrets {
  /** Signs session cookies. */
  cookieKey: Buffer
  /** Keys the HMAC of user codes. */
  userCodeKey: Buffer
  /** Encrypts signing keys at rest. */
  keyEncryptionKey: Buffer
  /** Encrypts webhook signing secrets at rest (they are read back to sign). */
  webhookSecretKey: Buffer
  /** Encrypts second-factor secrets (TOTP seeds) at rest (src/accounts/factors). */
  factorSecretKey: Buffer
  /** Keys the HMAC of recovery codes. */
  recoveryCodeKey: Buffer
  /** True when no SECRET_KEY was configured and a development secret is kept in the database. */
  generated: boolean
}

export function deriveSecrets (master: string, generated = false): Secrets {
  const derive = (purpose: string) => Buffer.from(hkdfSync('sha256', master, 'codepair', purpose, 32))
  return {
    cookieKey: derive('cookie signing'),
    userCodeKey: derive('user code hmac'),
    keyEncryptionKey: derive('signing key encryption'),
    webhookSecretKey: derive('webhook secret encryption'),
    factorSecretKey: derive('second factor secret encryption'),
    recoveryCodeKey: derive('recovery code hmac'),
    generated
  }
}

/**
 * Development mode without SECRET_KEY: one random secret is made on first start and
 * kept in the database, so restarts keep sessions, pending codes and signing keys.
 * Production mode refuses to start without SECRET_KEY (config.ts).
 */
export async function resolveSecrets (config: Config, storage: Storage): Promise<Secrets> {
  if (config.secretKey !== undefined) return deriveSecrets(config.secretKey)
  const master = await getOrCreateSetting(storage.db, 'development_secret_key', () => randomBytes(48).toString('base64url'))
  return deriveSecrets(master, true)
}
