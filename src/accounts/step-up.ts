// Second-factor proofs kept in a browser session, and what they are worth: approving a
// device needs one no older than STEP_UP_MAX_AGE_SECONDS (Keycloak's "max age" of an
// authentication level, Okta's re-authentication window). Other ways of signing in
// (upstream OpenID providers reporting amr) record their proof here too.

/** RFC 8176 amr values of the methods a session proved, and when the last one was proven. */
export interface SecondFactorProof {
  /** Epoch milliseconds. */
  at: number
  amr: string[]
  /** codepair method ids (totp, passkey, recovery_codes) or an upstream's name, for the audit log. */
  methods: string[]
}

/** The part of a session this module reads and writes (structural: no Fastify import). */
export interface ProofHolder {
  secondFactor?: SecondFactorProof
  /** amr of the sign-in itself (['pwd'], or a passkey's). */
  signInAmr?: string[]
}

/** acr values (OIDC Core §2): one factor or more than one. Listed in the discovery document. */
export const ACR_ONE_FACTOR = 'urn:codepair:loa:1fa'
export const ACR_TWO_FACTORS = 'urn:codepair:loa:2fa'
export const ACR_VALUES = [ACR_ONE_FACTOR, ACR_TWO_FACTORS]

/** "This session has a second-factor proof at time `at` with these methods": call after any successful second factor. */
export function recordSecondFactorProof (session: ProofHolder, proof: { at: Date, amr: readonly string[], methods: readonly string[] }): void {
  session.secondFactor = { at: proof.at.getTime(), amr: [...new Set(proof.amr)], methods: [...new Set(proof.methods)] }
}

/** The proof when it is no older than `maxAgeSeconds` at `now`, else null. */
export function freshProof (session: ProofHolder, now: number, maxAgeSeconds: number): SecondFactorProof | null {
  const p = session.secondFactor
  if (p === undefined || now - p.at > maxAgeSeconds * 1000 || p.at > now + 5000) return null
  return p
}

/** What an approval records about how the person authenticated (ID token amr and acr). */
export function authenticationOf (session: ProofHolder, now: number, maxAgeSeconds: number): { amr: string[], acr: string } {
  const proof = freshProof(session, now, maxAgeSeconds)
  const amr = new Set(session.signInAmr ?? ['pwd'])
  for (const v of proof?.amr ?? []) amr.add(v)
  // RFC 8176 §2: mfa when more than one factor was used.
  const factors = proof === null ? 1 : 2
  if (factors > 1) amr.add('mfa')
  return { amr: [...amr], acr: factors > 1 ? ACR_TWO_FACTORS : ACR_ONE_FACTOR }
}
