// Device and user codes (RFC 8628 §3.2, §5.1, §6.1) and the hashes we store of them.
import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto'
import { randomBytesPooled } from './random.js'

/** RFC 8628 §6.1: consonants only, so no words are spelled and no vowels are confused. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'

export function userCodeSpace (length: number): number {
  return USER_CODE_ALPHABET.length ** length
}

/** 256 bits from the CSPRNG (RFC 6749 §10.10 asks for at least 128, better 160). */
export function generateDeviceCode (): string {
  return randomBytesPooled(32).toString('base64url')
}

/** High-entropy opaque secrets (refresh tokens, client secrets): 256 bits. */
export function generateSecret (): string {
  return randomBytesPooled(32).toString('base64url')
}

export function generateUserCode (length: number): string {
  let code = ''
  // randomInt is uniform (rejection sampling inside), so every code is equally likely.
  for (let i = 0; i < length; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return code
}

/**
 * RFC 8628 §6.1: case-insensitive, ignoring spaces, dashes and anything else outside
 * the alphabet, so "wdjb mjht" and "WDJB-MJHT" are the same code.
 */
export function normalizeUserCode (input: string): string {
  let out = ''
  for (const ch of input.toUpperCase()) if (USER_CODE_ALPHABET.includes(ch)) out += ch
  return out
}

/** Shown as XXXX-XXXX: groups of four are easier to read out and type. */
export function formatUserCode (code: string): string {
  return code.match(/.{1,4}/g)?.join('-') ?? code
}

/** SHA-256 for high-entropy secrets: a slow KDF adds nothing at 256 bits and would make polling a CPU sink. */
export function sha256 (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/**
 * User codes have only ~35 bits, so a plain hash could be reversed by enumerating all
 * 20^8 values; an HMAC with a server key cannot (RFC-CHECKLIST, user-code brute force).
 */
export function userCodeHmac (key: Buffer, normalizedCode: string): string {
  return createHmac('sha256', key).update(normalizedCode).digest('base64url')
}

/**
 * Whether a code a device presents (flask-oauth2-devices' auth_code) is the user code
 * stored as `storedHash`: normalised as on /activate (RFC 8628 §6.1), then the HMACs
 * are compared in constant time, so the answer says nothing about how close a guess was.
 */
export function userCodeMatches (key: Buffer, presented: string, storedHash: string): boolean {
  return safeEqual(userCodeHmac(key, normalizeUserCode(presented)), storedHash)
}

export function safeEqual (a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}
