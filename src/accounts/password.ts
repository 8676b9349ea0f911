// Passwords: argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1), rehashed on
// sign-in when these parameters change.
import argon2 from 'argon2'

export const PASSWORD_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 1024

export async function hashPassword (password: string): Promise<string> {
  return await argon2.hash(password, PASSWORD_OPTIONS)
}

/**
 * The stored "hash" of an account that has no password (created at an upstream sign-in):
 * not a PHC string, so no password ever matches it (Unix's "!" in /etc/shadow).
 */
export const NO_PASSWORD = '!no-password'

export function hasPassword (hash: string): boolean {
  return hash.startsWith('$argon2')
}

export async function verifyPassword (hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password)
  } catch {
    return false // a malformed stored hash never signs anyone in
  }
}

export function needsRehash (hash: string): boolean {
  try {
    return argon2.needsRehash(hash, PASSWORD_OPTIONS)
  } catch {
    return true
  }
}

/** NIST SP 800-63B: length is what matters; refuse the empty, the short and the username itself. */
export function passwordProblem (password: string, username?: string): string | undefined {
  if (password.length === 0) return 'the password is empty'
  if (password.length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`
  if (password.length > MAX_PASSWORD_LENGTH) return `the password must have at most ${MAX_PASSWORD_LENGTH} characters`
  if (username !== undefined && password.toLowerCase() === username.toLowerCase()) return 'the password must not be the username'
  return undefined
}

let dummy: Promise<string> | undefined
/** Verified against for unknown users, so they cost the same time as a wrong password. */
export async function dummyHash (): Promise<string> {
  dummy ??= hashPassword('codepair-dummy-password-for-timing')
  return await dummy
}
