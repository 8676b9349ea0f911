// Names of the shared attempt counters. Usernames are compared case-insensitively
// here so "Alice" and "alice" share one lockout.
export const loginAccountKey = (username: string) => `login:account:${username.toLowerCase()}`
/** Settled wrong passwords only (no attempt in flight): what locks an account out of tokens. */
export const loginFailuresKey = (username: string) => `login:failures:${username.toLowerCase()}`
export const loginIpKey = (ip: string) => `login:ip:${ip}`
export const userCodeGlobalKey = 'user-code:global'
export const userCodeIpKey = (ip: string) => `user-code:ip:${ip}`
export const userCodeSessionKey = (session: string) => `user-code:session:${session}`
export const userCodeSignedInKey = 'user-code:signed-in'
export const userCodeAccountKey = (userId: string) => `user-code:account:${userId}`
export const secondFactorAccountKey = (userId: string) => `second-factor:account:${userId}`
