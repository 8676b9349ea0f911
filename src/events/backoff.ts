// Retry schedule of webhook deliveries: exponential backoff with jitter. The wait after
// the n-th failed attempt is base·2^(n−1), capped, then scaled by a random factor in
// [0.5, 1) ("equal jitter": never less than half, so the schedule has a known floor,
// and receivers that come back are not hit by every sender at the same instant).

export interface RetryPolicy {
  /** Attempts in all, the first included; after the last failure the delivery is dead. */
  maxAttempts: number
  baseSeconds: number
  maxSeconds: number
}

export function retryDelayMs (failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.max(0, failedAttempts - 1))
  return Math.round(exp * 1000 * (0.5 + random() / 2))
}

/** The bounds of the time from the first attempt to the last (README's numbers). */
export function retryWindowSeconds (policy: RetryPolicy): { min: number, max: number } {
  let max = 0
  for (let n = 1; n < policy.maxAttempts; n++) max += Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** (n - 1))
  return { min: max / 2, max }
}
