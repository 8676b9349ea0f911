// RFC 8628 §5.1: the chance that anyone guesses some live user code within one code
// lifetime. One arithmetic for the start-up check (config.ts), the line logged at
// start-up and the README's table (test/oauth/guess-bound.test.ts keeps them equal).
//
// With at most N codes live at once, each wrong guess hits one with probability at most
// N / 20^L. Wrong guesses are budgeted per window of one code lifetime: anonymous visitors
// together get A, signed-in people together S (each account at most its own share). A
// code's lifetime overlaps at most two windows (they are fixed, not sliding), so at most
// 2 × (A + S) wrong guesses can reach it, and by the union bound
//   P(some live code guessed within one code lifetime) ≤ 2 × (A + S) × N / 20^L.
// The bound holds for any number of accounts an attacker controls: S caps them all.
import { userCodeSpace } from './codes.js'

export interface GuessBudget {
  userCodeLength: number
  maxLiveCodes: number
  /** USER_CODE_FAILURES_GLOBAL: wrong codes per window from visitors who are not signed in. */
  anonymous: number
  /** USER_CODE_FAILURES_SIGNED_IN: wrong codes per window from all signed-in accounts together. */
  signedIn: number
}

/** Fixed windows: one code lifetime can overlap two of them. */
const WINDOWS_PER_LIFETIME = 2

export function guessChance (b: GuessBudget): number {
  return WINDOWS_PER_LIFETIME * (b.anonymous + b.signedIn) * b.maxLiveCodes / userCodeSpace(b.userCodeLength)
}

/**
 * A probability in the form of toExponential(2), rounded up, never to nearest: a bound
 * printed lower than it is would be a wrong promise (9.375e-4 is "9.38e-4", where
 * toExponential gives "9.37e-4" because the double lies just below 9.375e-4).
 */
export function formatUp (x: number): string {
  if (!(x > 0) || !Number.isFinite(x)) return x.toExponential(2)
  let exponent = Math.floor(Math.log10(x))
  let mantissa = x / 10 ** exponent
  if (mantissa >= 10) { mantissa /= 10; exponent++ }
  if (mantissa < 1) { mantissa *= 10; exponent-- }
  // The small tolerance keeps an exact 2.5 (stored as 2.5000000000000004) at "2.50".
  let hundredths = Math.ceil(mantissa * 100 - 1e-9)
  if (hundredths >= 1000) { hundredths = 100; exponent++ }
  return `${(hundredths / 100).toFixed(2)}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`
}

/** The arithmetic, written out for people: what start-up logs and what a refusal shows. */
export function guessArithmetic (b: GuessBudget): string {
  return `2 × (USER_CODE_FAILURES_GLOBAL + USER_CODE_FAILURES_SIGNED_IN) × MAX_LIVE_CODES / 20^USER_CODE_LENGTH = ` +
    `2 × (${b.anonymous} + ${b.signedIn}) × ${b.maxLiveCodes} / ${userCodeSpace(b.userCodeLength).toExponential(3)} = ${formatUp(guessChance(b))}`
}

/** The most live codes that keep the chance within `maxProbability` (0 when none do). */
export function largestMaxLiveCodes (b: Omit<GuessBudget, 'maxLiveCodes'>, maxProbability: number): number {
  let n = Math.floor(maxProbability * userCodeSpace(b.userCodeLength) / (WINDOWS_PER_LIFETIME * (b.anonymous + b.signedIn)))
  // Floating point can land one off either way; settle it with the check itself.
  while (n > 0 && guessChance({ ...b, maxLiveCodes: n }) > maxProbability) n--
  while (guessChance({ ...b, maxLiveCodes: n + 1 }) <= maxProbability) n++
  return n
}

/** The README's table: USER_CODE_LENGTH against the largest MAX_LIVE_CODES, for the given budgets. */
export function guessTable (b: Omit<GuessBudget, 'maxLiveCodes' | 'userCodeLength'>, maxProbability: number, lengths = [8, 9, 10, 11, 12]): string {
  const rows = lengths.map(l => `| ${l} | ${userCodeSpace(l).toExponential(2)} | ${largestMaxLiveCodes({ ...b, userCodeLength: l }, maxProbability).toLocaleString('en-US')} |`)
  return ['| `USER_CODE_LENGTH` | codes (20^L) | largest `MAX_LIVE_CODES` |', '|---:|---:|---:|', ...rows].join('\n')
}
