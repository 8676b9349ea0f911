// Second-factor helpers for page tests: enrol TOTP through the real pages and compute codes.
import { decodeJwt } from 'jose'
import { Secret, TOTP } from 'otpauth'
import type { Browser } from './browser.js'

/** The code an authenticator app shows at `ms` (+ `steps` × 30 s). */
export function totpAt (secret: string, ms: number, steps = 0): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: ms + steps * 30000 })
}

/** Through /account/security (the browser is signed in): the secret and the recovery codes shown once. */
export async function enrolTotp (browser: Browser, nowMs: number, name = 'Phone'): Promise<{ secret: string, recoveryCodes: string[] }> {
  await browser.get('/account/security')
  const page = await browser.post('/account/security/totp', {})
  if (page.statusCode !== 200) throw new Error(`enrolment page: ${page.statusCode} ${String(page.headers.location)}`)
  const secret = (/id="totp-secret">([^<]+)</.exec(page.body)?.[1] ?? '').replace(/\s+/g, '')
  const state = /name="state" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  const done = await browser.post('/account/security/totp/confirm', { state, code: totpAt(secret, nowMs), name })
  if (done.statusCode !== 200) throw new Error(`enrolment failed: ${done.statusCode} ${done.body.slice(0, 500)}`)
  const recoveryCodes = [...done.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map(m => m[1] ?? '')
  return { secret, recoveryCodes }
}

/** The one-time state of the form on the last page. */
export function stateOf (body: string): string {
  return /name="state" value="([^"]+)"/.exec(body)?.[1] ?? ''
}

export function idTokenClaims (idToken: string): Record<string, unknown> {
  return decodeJwt(idToken)
}
