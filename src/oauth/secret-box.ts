// Secrets codepair must read back (signing keys, webhook secrets) are stored sealed with
// AES-256-GCM under a key derived from SECRET_KEY (secrets.ts): confidential and tamper-evident.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const PREFIX = 'enc:v1:'

export function seal (key: Buffer, plaintext: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${PREFIX}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`
}

export function isSealed (stored: string): boolean {
  return stored.startsWith(PREFIX)
}

/** Throws when the key differs from the one that sealed it, or the value was altered. */
export function open (key: Buffer, sealed: string): string {
  const [iv, tag, ct] = sealed.slice(PREFIX.length).split('.')
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'))
  decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(ct ?? '', 'base64url')), decipher.final()]).toString('utf8')
}
