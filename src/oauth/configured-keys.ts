// Signing keys supplied through configuration (SIGNING_KEYS / SIGNING_KEYS_FILE) instead of
// generated and kept in the database: for deployments whose keys live in a secret manager
// or an HSM-backed export, and for several codepair installations sharing one key.
//
// The value is a JWK Set (RFC 7517 §5), a single JWK, or one or more PEM blocks. Order is
// the rotation story: the FIRST key signs; every other key is published in the JWKS only,
// so that tokens signed by a previous key keep verifying (RFC-CHECKLIST "Keys"). A later key
// may be public only: publishing a successor before it signs lets resource servers cache it.
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { SigningAlg, SigningKeyRecord, SigningKeyStore } from './signing-keys.js'

export interface ConfiguredKey {
  /** The kid from the JWK when it had one; otherwise the RFC 7638 thumbprint is used. */
  kid?: string
  alg: SigningAlg
  publicJwk: JWK
  /** Absent for a key that is published only. */
  privateJwk?: JWK
}

export class KeysFromConfigurationError extends Error {
  constructor (readonly source: string) {
    super(`signing keys come from ${source}; rotate them there: put the new private key first and keep the old one after it until the longest access-token lifetime has passed`)
    this.name = 'KeysFromConfigurationError'
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g

/**
 * Parses the configured keys; throws an Error whose message says what is wrong with which
 * key (never echoing key material), for the configuration error list.
 */
export function parseSigningKeys (text: string): ConfiguredKey[] {
  // Environment variables often carry PEM with literal "\n" escapes.
  const value = text.includes('-----BEGIN') ? text.replace(/\\n/g, '\n') : text.trim()
  const objects = value.trimStart().startsWith('{') ? fromJson(value) : fromPem(value)
  if (objects.length === 0) throw new Error('no key found: expected a JWK Set, a JWK or PEM blocks')
  const keys = objects.map((o, i) => describe(o, i + 1))
  if (keys[0]?.privateJwk === undefined) throw new Error('the first key signs, so it must be a private key')
  const seen = new Set<string>()
  for (const [i, k] of keys.entries()) {
    const id = JSON.stringify(k.publicJwk)
    if (seen.has(id)) throw new Error(`key ${i + 1}: the same key appears twice`)
    seen.add(id)
  }
  const kids = keys.flatMap(k => k.kid === undefined ? [] : [k.kid])
  if (new Set(kids).size !== kids.length) throw new Error('two keys have the same kid')
  return keys
}

interface Parsed { key: KeyObject, private: boolean, jwk?: JsonWebKey }

function fromJson (value: string): Parsed[] {
  let doc: unknown
  try { doc = JSON.parse(value) } catch { throw new Error('not valid JSON (expected a JWK Set {"keys":[…]} or a JWK)') }
  const list = typeof doc === 'object' && doc !== null && Array.isArray((doc as { keys?: unknown }).keys)
    ? (doc as { keys: unknown[] }).keys
    : [doc]
  return list.map((jwk, i) => {
    if (typeof jwk !== 'object' || jwk === null) throw new Error(`key ${i + 1}: not a JWK object`)
    const j = jwk as JsonWebKey
    if (j.kty === 'oct') throw new Error(`key ${i + 1}: a symmetric key cannot sign tokens others verify; use RSA, EC P-256 or Ed25519`)
    if (j.use !== undefined && j.use !== 'sig') throw new Error(`key ${i + 1}: "use" is "${String(j.use)}", expected "sig"`)
    try {
      return 'd' in j
        ? { key: createPrivateKey({ key: j, format: 'jwk' }), private: true, jwk: j }
        : { key: createPublicKey({ key: j, format: 'jwk' }), private: false, jwk: j }
    } catch {
      throw new Error(`key ${i + 1}: not a valid JWK`)
    }
  })
}

function fromPem (value: string): Parsed[] {
  const blocks = [...value.matchAll(PEM_BLOCK)]
  return blocks.map((m, i) => {
    const label = m[1] ?? ''
    try {
      if (label.endsWith('PRIVATE KEY')) return { key: createPrivateKey(m[0]), private: true }
      if (label === 'PUBLIC KEY' || label === 'CERTIFICATE') return { key: createPublicKey(m[0]), private: false }
    } catch {
      throw new Error(`key ${i + 1}: the ${label} block cannot be read${label.startsWith('ENCRYPTED') ? ' (encrypted PEM is not supported; decrypt it into the secret store instead)' : ''}`)
    }
    throw new Error(`key ${i + 1}: a PEM block labelled ${label} is not a key`)
  })
}

function describe (p: Parsed, n: number): ConfiguredKey {
  const alg = algorithmOf(p.key, n)
  if (p.jwk?.alg !== undefined && p.jwk.alg !== alg) throw new Error(`key ${n}: "alg" is ${String(p.jwk.alg)} but the key is for ${alg}`)
  const publicKey = p.private ? createPublicKey(p.key) : p.key
  const publicJwk = publicKey.export({ format: 'jwk' }) as JWK
  const kid = typeof p.jwk?.kid === 'string' && p.jwk.kid !== '' ? p.jwk.kid : undefined
  return {
    ...(kid === undefined ? {} : { kid }),
    alg,
    publicJwk,
    ...(p.private ? { privateJwk: p.key.export({ format: 'jwk' }) as JWK } : {})
  }
}

function algorithmOf (key: KeyObject, n: number): SigningAlg {
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'rsa':
      // RFC 7518 §3.3: 2048 bits or more.
      if ((details.modulusLength ?? 0) < 2048) throw new Error(`key ${n}: RSA keys need at least 2048 bits (this one has ${details.modulusLength ?? 0})`)
      return 'RS256'
    case 'ec':
      if (details.namedCurve !== 'prime256v1') throw new Error(`key ${n}: EC keys must be on P-256 for ES256 (this one is on ${details.namedCurve ?? 'an unknown curve'})`)
      return 'ES256'
    case 'ed25519':
      return 'EdDSA'
    default:
      throw new Error(`key ${n}: ${key.asymmetricKeyType ?? 'unknown'} keys are not supported; use RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA)`)
  }
}

/**
 * A read-only SigningKeyStore over the configured keys, so that KeyManager, the JWKS and
 * `codepair keys list` work unchanged. Activation dates are derived from the order (the
 * first key has the latest one, so it is the active key); nothing ever retires by date:
 * a key leaves the JWKS when it leaves the configuration.
 */
export class ConfiguredKeyStore implements SigningKeyStore {
  #records: Promise<SigningKeyRecord[]> | undefined

  constructor (private readonly keys: readonly ConfiguredKey[], private readonly source: string, private readonly now: () => number = Date.now) {}

  async listKeys (): Promise<SigningKeyRecord[]> {
    this.#records ??= this.load(this.now())
    return await this.#records
  }

  private async load (loadedAt: number): Promise<SigningKeyRecord[]> {
    const records = await Promise.all(this.keys.map(async (k, i): Promise<SigningKeyRecord> => {
      const at = new Date(loadedAt - i)
      return {
        kid: k.kid ?? await calculateJwkThumbprint(k.publicJwk),
        alg: k.alg,
        publicJwk: JSON.stringify(k.publicJwk),
        privateJwk: k.privateJwk === undefined ? '' : JSON.stringify(k.privateJwk),
        status: i === 0 ? 'active' : 'retiring',
        createdAt: at,
        activateAt: at,
        retireAt: null
      }
    }))
    return records.reverse() // listKeys is oldest first
  }

  async insertKey (): Promise<void> { throw new KeysFromConfigurationError(this.source) }

  async scheduleRetirement (): Promise<void> { throw new KeysFromConfigurationError(this.source) }
}

/** The configured keys when there are any, else the database's. */
export function signingKeyStore (configured: { source: string, keys: readonly ConfiguredKey[] } | undefined, database: SigningKeyStore, now: () => number): SigningKeyStore {
  return configured === undefined ? database : new ConfiguredKeyStore(configured.keys, configured.source, now)
}
