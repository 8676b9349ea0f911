// Signing keys: persisted (never generated fresh at each boot, RFC-CHECKLIST "Keys"),
// private halves encrypted at rest with a key derived from SECRET_KEY.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose'

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
  /** Every key that is not retired, oldest first. */
  listKeys (): Promise<SigningKeyRecord[]>
  insertKey (key: SigningKeyRecord): Promise<void>
}

export interface ActiveKey { kid: string, alg: string, key: CryptoKey }

export class KeyManager {
  #keys: SigningKeyRecord[] = []
  #signing: ActiveKey | undefined
  #verify = new Map<string, CryptoKey>()

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

  async reload (): Promise<void> {
    this.#keys = await this.store.listKeys()
    const t = this.now()
    const usable = this.#keys.filter(k => k.status === 'active' && (k.activateAt === null || k.activateAt.getTime() <= t))
    const newest = usable.at(-1)
    this.#verify.clear()
    for (const k of this.#keys) {
      this.#verify.set(k.kid, await importJWK(JSON.parse(k.publicJwk) as JWK, k.alg) as CryptoKey)
    }
    this.#signing = newest === undefined
      ? undefined
      : { kid: newest.kid, alg: newest.alg, key: await importJWK(this.decrypt(newest.privateJwk), newest.alg) as CryptoKey }
  }

  signingKey (): ActiveKey {
    if (this.#signing === undefined) throw new Error('KeyManager.init() was not called')
    return this.#signing
  }

  verificationKey (kid: string): CryptoKey | undefined {
    return this.#verify.get(kid)
  }

  /** RFC 7517 JWK Set with every published (non-retired) public key. */
  jwks (): { keys: JWK[] } {
    return { keys: this.#keys.map(k => ({ ...JSON.parse(k.publicJwk) as JWK, kid: k.kid, alg: k.alg, use: 'sig' })) }
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
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv)
    const ct = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()])
    return `enc:v1:${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`
  }

  private decrypt (stored: string): JWK {
    if (!stored.startsWith('enc:v1:')) return JSON.parse(stored) as JWK
    const [iv, tag, ct] = stored.slice('enc:v1:'.length).split('.')
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv ?? '', 'base64url'))
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'))
    try {
      return JSON.parse(Buffer.concat([decipher.update(Buffer.from(ct ?? '', 'base64url')), decipher.final()]).toString('utf8')) as JWK
    } catch (err) {
      throw new Error('cannot decrypt a signing key: SECRET_KEY differs from the one the key was stored with', { cause: err })
    }
  }
}
