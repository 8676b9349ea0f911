// Signing keys: persisted (never generated fresh at each boot, RFC-CHECKLIST "Keys"),
// private halves encrypted at rest with a key derived from SECRET_KEY.
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { EXIT, OperatorError } from '../exit-codes.js'
import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type JWTVerifyGetKey } from 'jose'
import { isSealed, open, seal } from './secret-box.js'
import type { Outbox } from './stores.js'

export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA'
export type KeyStatus = 'next' | 'active' | 'retiring' | 'retired'

export interface SigningKeyRecord {
  kid: string
  alg: string
  publicJwk: string
  privateJwk: string
  status: KeyStatus
  createdAt: Date
  activateAt: Date | null
  retireAt: Date | null
}

export interface SigningKeyStore {
  /** Every key, retired ones included, oldest first. */
  listKeys (): Promise<SigningKeyRecord[]>
  /** Stores a new key and, in the same transaction, the outbox (key.rotated). */
  insertKey (key: SigningKeyRecord, outbox?: Outbox): Promise<void>
  /** Sets retireAt on the given keys that have none yet. */
  scheduleRetirement (kids: string[], retireAt: Date): Promise<void>
}

export interface ActiveKey { kid: string, alg: string, key: CryptoKey }

export interface KeyView { kid: string, alg: string, state: KeyStatus, createdAt: Date, activateAt: Date | null, retireAt: Date | null }

/** When a key starts (or started) to sign. */
const activeAt = (k: SigningKeyRecord): number => (k.activateAt ?? k.createdAt).getTime()

/**
 * Where a key is in its life at time `t`, derived from its dates so that every
 * instance agrees without coordination:
 *   next      published in the JWKS, not signing yet (activateAt in the future)
 *   active    the newest published key whose activateAt has passed: it signs
 *   retiring  published so tokens it signed keep verifying, no longer signing
 *   retired   past retireAt: unpublished
 */
export function keyStates (keys: SigningKeyRecord[], t: number): Map<string, KeyStatus> {
  const states = new Map<string, KeyStatus>()
  const published = keys.filter(k => k.retireAt === null || k.retireAt.getTime() > t)
  const started = published.filter(k => k.activateAt === null || k.activateAt.getTime() <= t)
  const active = started.reduce<SigningKeyRecord | undefined>((best, k) => best === undefined || activeAt(k) >= activeAt(best) ? k : best, undefined)
  for (const k of keys) {
    states.set(k.kid, !published.includes(k) ? 'retired' : k === active ? 'active' : started.includes(k) ? 'retiring' : 'next')
  }
  return states
}

export class KeyManager {
  #keys: SigningKeyRecord[] = []
  #signing: ActiveKey | undefined
  #verify = new Map<string, CryptoKey>()
  #jwks: { keys: JWK[] } = { keys: [] }
  #pem = ''
  #timer: NodeJS.Timeout | undefined

  constructor (
    private readonly store: SigningKeyStore,
    private readonly encryptionKey: Buffer,
    private readonly alg: SigningAlg = 'RS256',
    private readonly now: () => number = Date.now
  ) {}

  /** Loads the keys; on the very first start creates and persists one. */
  async init (): Promise<void> {
    await this.reload()
    if (this.#signing === undefined) {
      await this.store.insertKey(await this.generate('active'))
      await this.reload()
    }
    if (this.#signing === undefined) throw new Error('no usable signing key')
  }

  /** Re-reads keys every `seconds`, so a rotation made by the CLI reaches every instance. */
  startReloading (seconds: number, onError: (err: unknown) => void): void {
    if (seconds === 0) return
    this.#timer = setInterval(() => { this.reload().catch(onError) }, seconds * 1000)
    this.#timer.unref()
  }

  stop (): void { clearInterval(this.#timer) }

  async reload (): Promise<void> {
    const keys = await this.store.listKeys()
    const states = keyStates(keys, this.now())
    const published = keys.filter(k => states.get(k.kid) !== 'retired')
    const verify = new Map<string, CryptoKey>()
    for (const k of published) {
      verify.set(k.kid, this.#verify.get(k.kid) ?? await importJWK(JSON.parse(k.publicJwk) as JWK, k.alg) as CryptoKey)
    }
    const active = published.find(k => states.get(k.kid) === 'active')
    const signing = active === undefined
      ? undefined
      : this.#signing?.kid === active.kid ? this.#signing : { kid: active.kid, alg: active.alg, key: await importJWK(this.decrypt(active.privateJwk), active.alg) as CryptoKey }
    this.#keys = keys
    this.#verify = verify
    this.#signing = signing
    // Newest first: the signing key (or the next one) leads, for verifiers that look no further.
    const newestFirst = [...published].sort((a, b) => activeAt(b) - activeAt(a))
    this.#jwks = { keys: newestFirst.map(k => ({ ...JSON.parse(k.publicJwk) as JWK, kid: k.kid, alg: k.alg, use: 'sig' })) }
    // PEM for services that take a key file instead of a JWKS: the signing key first.
    const currentFirst = [...newestFirst].sort((a, b) => Number(b.kid === active?.kid) - Number(a.kid === active?.kid))
    this.#pem = currentFirst.map(k => createPublicKey({ key: JSON.parse(k.publicJwk) as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()).join('')
  }

  signingKey (): ActiveKey {
    if (this.#signing === undefined) throw new Error('KeyManager.init() was not called')
    return this.#signing
  }

  verificationKey (kid: string): CryptoKey | undefined {
    return this.#verify.get(kid)
  }

  /** A jose key resolver over the published keys: verification without any I/O. */
  readonly getKey: JWTVerifyGetKey = (header) => {
    const key = header.kid === undefined ? undefined : this.#verify.get(header.kid)
    if (key === undefined) throw new errors.JWKSNoMatchingKey()
    return key
  }

  /** RFC 7517 JWK Set with every published public key. */
  jwks (): { keys: JWK[] } {
    return this.#jwks
  }

  /** Every published public key as SPKI PEM blocks, the one signing now first. */
  publicKeysPem (): string {
    return this.#pem
  }

  list (): KeyView[] {
    const states = keyStates(this.#keys, this.now())
    return this.#keys.map(k => ({ kid: k.kid, alg: k.alg, state: states.get(k.kid) ?? 'retired', createdAt: k.createdAt, activateAt: k.activateAt, retireAt: k.retireAt }))
  }

  /**
   * Rotation: the new key is published now and signs from now + publishSeconds; the
   * keys it replaces stay published until every token they signed has expired
   * (its activation + the longest token lifetime + leeway), then retire.
   */
  async rotate (publishSeconds: number, longestTokenSeconds: number): Promise<SigningKeyRecord> {
    const fresh = await this.prepareRotation(publishSeconds)
    await this.commitRotation(fresh, longestTokenSeconds)
    return fresh
  }

  /** The first half of rotate(): the new key, made but not stored (so key.rotated can name it). */
  async prepareRotation (publishSeconds: number): Promise<SigningKeyRecord> {
    return await this.generate('next', new Date(this.now() + publishSeconds * 1000))
  }

  /** The second half: publish `fresh` (with the outbox, in one transaction) and retire the keys it replaces. */
  async commitRotation (fresh: SigningKeyRecord, longestTokenSeconds: number, outbox: Outbox = []): Promise<void> {
    await this.reload()
    const states = keyStates(this.#keys, this.now())
    const replaced = this.#keys.filter(k => states.get(k.kid) !== 'retired').map(k => k.kid)
    await this.store.insertKey(fresh, outbox)
    await this.store.scheduleRetirement(replaced, new Date(activeAt(fresh) + longestTokenSeconds * 1000))
    await this.reload()
  }

  async generate (status: KeyStatus, activateAt: Date | null = null): Promise<SigningKeyRecord> {
    const opts = this.alg === 'RS256' ? { modulusLength: 2048, extractable: true } : { extractable: true }
    const { publicKey, privateKey } = await generateKeyPair(this.alg, opts)
    const publicJwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(publicJwk)
    return {
      kid,
      alg: this.alg,
      publicJwk: JSON.stringify(publicJwk),
      privateJwk: this.encrypt(await exportJWK(privateKey)),
      status,
      createdAt: new Date(this.now()),
      activateAt,
      retireAt: null
    }
  }

  private encrypt (jwk: JWK): string {
    return seal(this.encryptionKey, JSON.stringify(jwk))
  }

  private decrypt (stored: string): JWK {
    if (!isSealed(stored)) return JSON.parse(stored) as JWK
    try {
      return JSON.parse(open(this.encryptionKey, stored)) as JWK
    } catch (err) {
      throw new OperatorError('cannot decrypt the signing keys stored in the database: SECRET_KEY differs from the one they were stored with; set the SECRET_KEY this database was set up with (a development database without one keeps its own: leave SECRET_KEY unset)', EXIT.keyMismatch, { cause: err })
    }
  }
}
