// What an upstream sign-in tells us about how the person authenticated there: the ID
// token's amr (RFC 8176), acr and auth_time (OIDC Core §2), kept on the browser session.

/**
 * RFC 8176 §2 values that show a second factor beyond a password: "mfa" itself, or a
 * possession factor (one-time code, hardware or software key, smart card, SMS or phone).
 * A password ("pwd"), a PIN or a biometric alone does not count.
 */
export const MFA_AMR_VALUES: ReadonlySet<string> = new Set(['mfa', 'otp', 'hwk', 'swk', 'sc', 'sms', 'tel'])

export function amrShowsMfa (amr: readonly string[]): boolean {
  return amr.some(v => MFA_AMR_VALUES.has(v))
}

/**
 * Kept on the session as `upstreamAuthentication` after an upstream sign-in (dropped by
 * any later sign-in, which regenerates the session). Step-up (second-factor policy) reads
 * `mfa`: true only when the provider has `trustMfa` and its amr shows a second factor.
 */
export interface UpstreamAuthentication {
  provider: string
  amr: string[]
  acr: string | null
  /** Seconds since the epoch, as the provider reported it (null when it did not). */
  authTime: number | null
  /** The operator trusts this provider's MFA (trustMfa) and the amr shows it: counts as a second factor. */
  mfa: boolean
}
