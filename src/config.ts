// Configuration: environment variables (and an optional .env file) → one validated,
// frozen Config. Every key is documented in .env.example with its default; a bad
// value stops start-up with a message naming the variable and what is allowed.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'
import { parseBrand, type Brand } from './branding/brand-config.js'
import type { LogFormat } from './logger.js'
import { parseAllowList, type AllowList } from './metrics/allow-list.js'
import { guessArithmetic, guessChance, largestMaxLiveCodes } from './oauth/guess-bound.js'
import { parseSigningKeys, type ConfiguredKey } from './oauth/configured-keys.js'
import { DEFAULT_DATABASE_URL, parseDatabaseUrl, type DatabaseTarget } from './storage/database-url.js'
import { loadUpstreamProviders, type UpstreamProviderConfig } from './upstream/config.js'

export type Mode = 'development' | 'production'

export interface Config {
  readonly mode: Mode
  readonly host: string
  readonly port: number
  /** Public base URL, no trailing slash (RFC 8414 §2 issuer). */
  readonly issuer: string
  readonly databaseUrl: string
  readonly database: DatabaseTarget
  readonly logLevel: string
  /** json, pretty, or auto: pretty in development when stdout is a terminal. */
  readonly logFormat: LogFormat
  /** How long start-up and `codepair migrate` wait for another process to let go of the database. */
  readonly migrateWaitSeconds: number
  /** On SIGTERM, how long readiness answers 503 (while requests are still served) before the server closes. */
  readonly shutdownDrainSeconds: number
  /** Master secret; undefined in development means "generate once and keep it in the database". */
  readonly secretKey: string | undefined
  readonly trustProxy: boolean | string
  readonly bodyLimitBytes: number
  readonly deviceCodeTtlSeconds: number
  readonly pollIntervalSeconds: number
  readonly pollLeewayMs: number
  readonly accessTokenTtlSeconds: number
  readonly refreshTokenTtlSeconds: number
  readonly refreshTokenIdleTtlSeconds: number
  readonly sessionTtlSeconds: number
  readonly userCodeLength: number
  readonly maxLiveCodes: number
  /** At most this many live codes per client (a share of maxLiveCodes). */
  readonly maxLiveCodesPerClient: number
  /** Device authorization requests per minute from one address (0 = no limit). */
  readonly deviceAuthorizationRatePerIp: number
  /** Redis for rate-limit counters shared by every instance; undefined = in memory. */
  readonly rateLimitRedisUrl: string | undefined
  /** global: all anonymous visitors together; signedIn: all signed-in accounts together (per code lifetime). */
  readonly userCodeFailures: { readonly global: number, readonly perIp: number, readonly perSession: number, readonly perAccount: number, readonly signedIn: number }
  readonly maxGuessProbability: number
  readonly loginFailures: { readonly perAccount: number, readonly perIp: number, readonly lockoutSeconds: number }
  readonly purgeIntervalSeconds: number
  readonly consumedRetentionSeconds: number
  readonly allowHttpIssuer: boolean
  /** aud of tokens requested without a `resource` (RFC 8707), and of /api/me and /oauth/userinfo. */
  readonly defaultAudience: string
  readonly signingAlg: 'RS256' | 'ES256' | 'EdDSA'
  /** Keys from SIGNING_KEYS / SIGNING_KEYS_FILE (first one signs); undefined → generated and kept in the database. */
  readonly signingKeys: { readonly source: string, readonly keys: readonly ConfiguredKey[] } | undefined
  /** A new key is published this long before it signs (JWKS caches must see it first). */
  readonly keyPublishSeconds: number
  /** How often running servers re-read the signing keys (rotations made with the CLI). */
  readonly keyReloadSeconds: number
  readonly refreshTokenReuseGraceSeconds: number
  /** Leeway for exp/iat checks when verifying tokens. */
  readonly clockToleranceSeconds: number
  /** https issuer → Secure cookies with the __Host- prefix. */
  readonly secureCookies: boolean
  /** Absolute path of the module exporting the hooks (src/events/types.ts Hooks); undefined = none. */
  readonly hooksModule: string | undefined
  /** How long a hook or permission provider may run before it is abandoned. */
  readonly hookTimeoutMs: number
  /** Second factor (src/accounts/factors): the methods offered, who must use one, how fresh a proof must be to approve. */
  readonly secondFactor: {
    readonly methods: readonly ('totp' | 'passkey' | 'recovery_codes')[]
    readonly policy: 'off' | 'enrolled' | 'always'
    readonly stepUpMaxAgeSeconds: number
  }
  readonly webhooks: {
    /** Run the delivery worker in this process (every instance may). */
    readonly worker: boolean
    readonly timeoutMs: number
    readonly maxAttempts: number
    readonly retryBaseSeconds: number
    readonly retryMaxSeconds: number
    readonly pollMs: number
    /** Delivered and dead deliveries are kept this long, then purged. */
    readonly retentionSeconds: number
  }
  /** OpenID Connect providers to sign in with (UPSTREAM_PROVIDERS_FILE); empty = none. */
  readonly upstreamProviders: readonly UpstreamProviderConfig[]
  /** The username/password form on /login (PASSWORD_SIGN_IN); off needs an upstream provider. */
  readonly passwordSignIn: boolean
  /** BRAND_*: the operator's name, logo, accent colour and support link on the pages. */
  readonly brand: Brand
  /** GET /metrics (Prometheus): README "Metrics". */
  readonly metrics: {
    readonly enabled: boolean
    /** Peers (socket addresses) allowed to read it. */
    readonly allow: AllowList
    /** Serve it on this port of HOST instead of PORT (then not on PORT); undefined = PORT. */
    readonly port: number | undefined
  }
}

export class ConfigError extends Error {
  readonly code = 'CODEPAIR_ERR_CONFIG'
  constructor (readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map(p => `  - ${p}`).join('\n')}\nSee .env.example for every setting and its default.`)
    this.name = 'ConfigError'
  }
}

/** `unset` says what leaving the key empty means, when that is not a number in range. */
const int = (min: number, max: number, dflt: number, unset = '') =>
  z.string().trim().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return dflt
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}${unset} (got "${v}")` })
      return z.NEVER
    }
    return n
  })

const bool = (dflt: boolean) =>
  z.string().trim().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return dflt
    if (/^(1|true|yes|on)$/i.test(v)) return true
    if (/^(0|false|no|off)$/i.test(v)) return false
    ctx.addIssue({ code: 'custom', message: `must be true or false (got "${v}")` })
    return z.NEVER
  })

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const schema = z.object({
  CODEPAIR_MODE: z.enum(['development', 'production'], { message: 'must be development or production' }).optional(),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: int(0, 65535, 3000),
  ISSUER: z.string().trim().optional(),
  DATABASE_URL: z.string().trim().default(DEFAULT_DATABASE_URL),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { message: 'must be auto, json or pretty' }).default('auto'),
  MIGRATE_WAIT_SECONDS: int(0, 3600, 30),
  SHUTDOWN_DRAIN_SECONDS: int(0, 300, 5),
  SECRET_KEY: z.string().optional(),
  TRUST_PROXY: z.string().trim().optional(),
  BODY_LIMIT_BYTES: int(1024, 1048576, 16384),
  DEVICE_CODE_TTL_SECONDS: int(60, 3600, 600),
  POLL_INTERVAL_SECONDS: int(1, 60, 5),
  POLL_LEEWAY_MS: int(0, 5000, 1000),
  ACCESS_TOKEN_TTL_SECONDS: int(60, 86400, 3600),
  REFRESH_TOKEN_TTL_SECONDS: int(300, 31536000, 7776000),
  REFRESH_TOKEN_IDLE_TTL_SECONDS: int(300, 31536000, 2592000),
  SESSION_TTL_SECONDS: int(60, 86400, 1800),
  USER_CODE_LENGTH: int(8, 16, 8),
  MAX_LIVE_CODES: int(1, 100000000, 100),
  MAX_LIVE_CODES_PER_CLIENT: int(1, 100000000, 0, ', or empty for half of MAX_LIVE_CODES'), // 0 (unset): half of MAX_LIVE_CODES
  DEVICE_AUTHORIZATION_RATE_PER_IP: int(0, 1000000, 20),
  RATE_LIMIT_REDIS_URL: z.string().trim().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379').optional(),
  USER_CODE_FAILURES_GLOBAL: int(1, 100000000, 20),
  USER_CODE_FAILURES_PER_IP: int(1, 100000, 10),
  USER_CODE_FAILURES_PER_SESSION: int(1, 100000, 5),
  USER_CODE_FAILURES_PER_ACCOUNT: int(1, 100000, 5),
  USER_CODE_FAILURES_SIGNED_IN: int(1, 100000000, 100),
  MAX_GUESS_PROBABILITY: z.string().trim().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return 1e-6
    const n = Number(v)
    if (!(n > 0 && n < 1)) {
      ctx.addIssue({ code: 'custom', message: `must be a number between 0 and 1, e.g. 1e-6 (got "${v}")` })
      return z.NEVER
    }
    return n
  }),
  LOGIN_FAILURES_PER_ACCOUNT: int(1, 1000, 5),
  LOGIN_FAILURES_PER_IP: int(1, 100000, 20),
  LOGIN_LOCKOUT_SECONDS: int(1, 86400, 900),
  PURGE_INTERVAL_SECONDS: int(0, 86400, 60),
  CONSUMED_RETENTION_SECONDS: int(60, 31536000, 86400),
  ALLOW_HTTP_ISSUER: bool(false),
  DEFAULT_AUDIENCE: z.string().trim().optional(),
  SIGNING_ALG: z.enum(['RS256', 'ES256', 'EdDSA'], { message: 'must be RS256, ES256 or EdDSA' }).optional(),
  SIGNING_KEYS: z.string().optional(),
  SIGNING_KEYS_FILE: z.string().trim().optional(),
  KEY_PUBLISH_SECONDS: int(0, 604800, 600),
  KEY_RELOAD_SECONDS: int(0, 3600, 30),
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: int(0, 300, 0),
  CLOCK_TOLERANCE_SECONDS: int(0, 300, 5),
  HOOKS_MODULE: z.string().trim().optional(),
  HOOK_TIMEOUT_MS: int(10, 60000, 2000),
  SECOND_FACTOR_METHODS: z.string().trim().optional(),
  REQUIRE_SECOND_FACTOR: z.enum(['off', 'enrolled', 'always'], { message: 'must be off, enrolled or always' }).default('enrolled'),
  STEP_UP_MAX_AGE_SECONDS: int(30, 86400, 300),
  WEBHOOK_WORKER: bool(true),
  WEBHOOK_TIMEOUT_MS: int(100, 60000, 10000),
  WEBHOOK_MAX_ATTEMPTS: int(1, 100, 15),
  WEBHOOK_RETRY_BASE_SECONDS: int(1, 86400, 10),
  WEBHOOK_RETRY_MAX_SECONDS: int(1, 604800, 14400),
  WEBHOOK_POLL_MS: int(50, 60000, 1000),
  WEBHOOK_RETENTION_SECONDS: int(3600, 31536000, 604800),
  UPSTREAM_PROVIDERS_FILE: z.string().trim().optional(),
  PASSWORD_SIGN_IN: bool(true),
  BRAND_NAME: z.string().optional(),
  BRAND_LOGO_FILE: z.string().trim().optional(),
  BRAND_ACCENT_COLOR: z.string().trim().optional(),
  BRAND_SUPPORT_URL: z.string().trim().optional(),
  METRICS_ENABLED: bool(true),
  METRICS_ALLOW: z.string().trim().default('127.0.0.0/8,::1'),
  METRICS_PORT: int(1, 65535, 0)
})

/**
 * Builds the frozen Config. `env` defaults to process.env plus ./.env when present
 * (process.env wins); tests pass a plain object.
 */
export function loadConfig (env: Record<string, string | undefined> = readEnv()): Config {
  // An empty value means unset, so a copied .env.example works as it is.
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''))
  const parsed = schema.safeParse(given)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map(i => `${String(i.path[0])}: ${i.message}`))
  }
  const e = parsed.data
  const problems: string[] = []

  let database: DatabaseTarget | undefined
  try {
    database = parseDatabaseUrl(e.DATABASE_URL)
  } catch (err) {
    problems.push(`DATABASE_URL: ${(err as Error).message}`)
  }

  const issuerRaw = e.ISSUER ?? `http://localhost:${e.PORT === 0 ? 3000 : e.PORT}`
  let issuer = issuerRaw.replace(/\/+$/, '')
  try {
    const u = new URL(issuer)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme')
    // RFC 8414 §2: the issuer has no query or fragment.
    if (u.search !== '' || u.hash !== '') problems.push('ISSUER: must not have a query or fragment')
    issuer = `${u.origin}${u.pathname.replace(/\/+$/, '')}`
  } catch {
    problems.push(`ISSUER: must be an absolute http(s) URL such as https://auth.example.com (got "${issuerRaw}")`)
  }
  const httpsIssuer = issuer.startsWith('https://')
  const mode: Mode = e.CODEPAIR_MODE ?? (httpsIssuer ? 'production' : 'development')

  if (e.SECRET_KEY !== undefined && e.SECRET_KEY.length < 32) {
    problems.push('SECRET_KEY: must be at least 32 characters; generate one with `openssl rand -base64 48`')
  }
  if (mode === 'production') {
    if (e.SECRET_KEY === undefined) {
      problems.push('SECRET_KEY: required in production mode (no default secret); generate one with `openssl rand -base64 48`')
    }
    if (e.ISSUER === undefined) problems.push('ISSUER: required in production mode (the public https URL of this server)')
    if (!httpsIssuer && !e.ALLOW_HTTP_ISSUER) {
      problems.push('ISSUER: must be https in production mode; set ALLOW_HTTP_ISSUER=true only behind a TLS-terminating proxy you control')
    }
  }

  // RFC 8628 §5.1: the chance that some live code is guessed within one code lifetime
  // (src/oauth/guess-bound.ts has the reasoning) must stay within MAX_GUESS_PROBABILITY.
  const budget = { userCodeLength: e.USER_CODE_LENGTH, maxLiveCodes: e.MAX_LIVE_CODES, anonymous: e.USER_CODE_FAILURES_GLOBAL, signedIn: e.USER_CODE_FAILURES_SIGNED_IN }
  if (guessChance(budget) > e.MAX_GUESS_PROBABILITY) {
    problems.push(
      `${guessArithmetic(budget)}, above MAX_GUESS_PROBABILITY (${e.MAX_GUESS_PROBABILITY}): the chance of guessing a live code in one code lifetime is too high. ` +
      `Lower MAX_LIVE_CODES to ${largestMaxLiveCodes(budget, e.MAX_GUESS_PROBABILITY)} or less, lower USER_CODE_FAILURES_GLOBAL or USER_CODE_FAILURES_SIGNED_IN, ` +
      'or raise USER_CODE_LENGTH (the README has a table of lengths and live codes).'
    )
  }
  // Unset: half the room, so one leaked public client id cannot fill it for the others.
  const maxLiveCodesPerClient = e.MAX_LIVE_CODES_PER_CLIENT === 0 ? Math.ceil(e.MAX_LIVE_CODES / 2) : e.MAX_LIVE_CODES_PER_CLIENT
  if (maxLiveCodesPerClient > e.MAX_LIVE_CODES) problems.push(`MAX_LIVE_CODES_PER_CLIENT: must not exceed MAX_LIVE_CODES (${e.MAX_LIVE_CODES})`)
  if (e.USER_CODE_FAILURES_PER_ACCOUNT > e.USER_CODE_FAILURES_SIGNED_IN) {
    problems.push('USER_CODE_FAILURES_PER_ACCOUNT: must not exceed USER_CODE_FAILURES_SIGNED_IN (the budget all signed-in accounts share)')
  }
  if (e.USER_CODE_FAILURES_PER_SESSION > e.USER_CODE_FAILURES_PER_IP) {
    problems.push('USER_CODE_FAILURES_PER_SESSION: must not exceed USER_CODE_FAILURES_PER_IP')
  }
  if (e.REFRESH_TOKEN_IDLE_TTL_SECONDS > e.REFRESH_TOKEN_TTL_SECONDS) {
    problems.push('REFRESH_TOKEN_IDLE_TTL_SECONDS: must not exceed REFRESH_TOKEN_TTL_SECONDS')
  }
  const defaultAudience = e.DEFAULT_AUDIENCE ?? issuer
  if (!/^[a-z][a-z0-9+.-]*:/i.test(defaultAudience)) problems.push('DEFAULT_AUDIENCE: must be an absolute URI such as https://api.example.com')
  if (e.KEY_PUBLISH_SECONDS > 0 && e.KEY_PUBLISH_SECONDS < 300) {
    problems.push('KEY_PUBLISH_SECONDS: must be 0 or at least 300, the time /.well-known/jwks.json may be cached')
  }
  const signingKeys = configuredKeys(e.SIGNING_KEYS, e.SIGNING_KEYS_FILE, problems)
  const signingAlg = signingKeys?.keys[0]?.alg ?? e.SIGNING_ALG ?? 'RS256'
  if (signingKeys !== undefined && e.SIGNING_ALG !== undefined && e.SIGNING_ALG !== signingAlg) {
    problems.push(`SIGNING_ALG: is ${e.SIGNING_ALG} but the first key in ${signingKeys.source} is for ${signingAlg}; set SIGNING_ALG=${signingAlg} or leave it unset`)
  }
  if (e.WEBHOOK_RETRY_MAX_SECONDS < e.WEBHOOK_RETRY_BASE_SECONDS) {
    problems.push('WEBHOOK_RETRY_MAX_SECONDS: must not be less than WEBHOOK_RETRY_BASE_SECONDS')
  }
  const hooksModule = e.HOOKS_MODULE === undefined ? undefined : resolve(e.HOOKS_MODULE)
  if (hooksModule !== undefined && !existsSync(hooksModule)) {
    problems.push(`HOOKS_MODULE: no file at ${hooksModule}; give the path of a JavaScript module (relative to the working directory or absolute)`)
  }
  const brand = parseBrand(e, problems)
  const factorMethods = secondFactorMethods(e.SECOND_FACTOR_METHODS, problems)
  if (e.REQUIRE_SECOND_FACTOR === 'always' && !factorMethods.some(m => m !== 'recovery_codes')) {
    problems.push('REQUIRE_SECOND_FACTOR: always needs totp or passkey in SECOND_FACTOR_METHODS (recovery codes alone are no factor)')
  }
  const upstreamProviders = e.UPSTREAM_PROVIDERS_FILE === undefined ? [] : loadUpstreamProviders(resolve(e.UPSTREAM_PROVIDERS_FILE), problems)
  if (!e.PASSWORD_SIGN_IN && upstreamProviders.length === 0) {
    problems.push('PASSWORD_SIGN_IN: is false but no provider is configured in UPSTREAM_PROVIDERS_FILE, so nobody could sign in; configure a provider or set PASSWORD_SIGN_IN=true')
  }
  let metricsAllow: AllowList | undefined
  try {
    metricsAllow = parseAllowList(e.METRICS_ALLOW)
  } catch (err) {
    problems.push(`METRICS_ALLOW: ${(err as Error).message}`)
  }
  if (e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (leave it empty to serve /metrics on PORT)')
  }
  if (problems.length > 0 || database === undefined || metricsAllow === undefined) throw new ConfigError(problems)

  let trustProxy: boolean | string = false
  if (e.TRUST_PROXY !== undefined && e.TRUST_PROXY !== '') {
    trustProxy = /^(true|1)$/i.test(e.TRUST_PROXY) ? true : /^(false|0)$/i.test(e.TRUST_PROXY) ? false : e.TRUST_PROXY
  }

  return deepFreeze({
    mode,
    host: e.HOST,
    port: e.PORT,
    issuer,
    databaseUrl: e.DATABASE_URL,
    database,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    migrateWaitSeconds: e.MIGRATE_WAIT_SECONDS,
    shutdownDrainSeconds: e.SHUTDOWN_DRAIN_SECONDS,
    secretKey: e.SECRET_KEY,
    trustProxy,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    deviceCodeTtlSeconds: e.DEVICE_CODE_TTL_SECONDS,
    pollIntervalSeconds: e.POLL_INTERVAL_SECONDS,
    pollLeewayMs: e.POLL_LEEWAY_MS,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    refreshTokenIdleTtlSeconds: e.REFRESH_TOKEN_IDLE_TTL_SECONDS,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    userCodeLength: e.USER_CODE_LENGTH,
    maxLiveCodes: e.MAX_LIVE_CODES,
    maxLiveCodesPerClient,
    deviceAuthorizationRatePerIp: e.DEVICE_AUTHORIZATION_RATE_PER_IP,
    rateLimitRedisUrl: e.RATE_LIMIT_REDIS_URL,
    userCodeFailures: {
      global: e.USER_CODE_FAILURES_GLOBAL,
      perIp: e.USER_CODE_FAILURES_PER_IP,
      perSession: e.USER_CODE_FAILURES_PER_SESSION,
      perAccount: e.USER_CODE_FAILURES_PER_ACCOUNT,
      signedIn: e.USER_CODE_FAILURES_SIGNED_IN
    },
    maxGuessProbability: e.MAX_GUESS_PROBABILITY,
    loginFailures: {
      perAccount: e.LOGIN_FAILURES_PER_ACCOUNT,
      perIp: e.LOGIN_FAILURES_PER_IP,
      lockoutSeconds: e.LOGIN_LOCKOUT_SECONDS
    },
    purgeIntervalSeconds: e.PURGE_INTERVAL_SECONDS,
    consumedRetentionSeconds: e.CONSUMED_RETENTION_SECONDS,
    allowHttpIssuer: e.ALLOW_HTTP_ISSUER,
    defaultAudience,
    signingAlg,
    signingKeys,
    keyPublishSeconds: e.KEY_PUBLISH_SECONDS,
    keyReloadSeconds: e.KEY_RELOAD_SECONDS,
    refreshTokenReuseGraceSeconds: e.REFRESH_TOKEN_REUSE_GRACE_SECONDS,
    clockToleranceSeconds: e.CLOCK_TOLERANCE_SECONDS,
    secureCookies: httpsIssuer,
    hooksModule,
    hookTimeoutMs: e.HOOK_TIMEOUT_MS,
    secondFactor: {
      methods: factorMethods,
      policy: e.REQUIRE_SECOND_FACTOR,
      stepUpMaxAgeSeconds: e.STEP_UP_MAX_AGE_SECONDS
    },
    webhooks: {
      worker: e.WEBHOOK_WORKER,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      retryBaseSeconds: e.WEBHOOK_RETRY_BASE_SECONDS,
      retryMaxSeconds: e.WEBHOOK_RETRY_MAX_SECONDS,
      pollMs: e.WEBHOOK_POLL_MS,
      retentionSeconds: e.WEBHOOK_RETENTION_SECONDS
    },
    upstreamProviders,
    passwordSignIn: e.PASSWORD_SIGN_IN,
    metrics: {
      enabled: e.METRICS_ENABLED,
      allow: metricsAllow,
      port: e.METRICS_PORT === 0 ? undefined : e.METRICS_PORT
    },
    brand
  })
}

function configuredKeys (inline: string | undefined, file: string | undefined, problems: string[]): Config['signingKeys'] {
  if (inline !== undefined && file !== undefined) {
    problems.push('SIGNING_KEYS, SIGNING_KEYS_FILE: set one of them, not both')
    return undefined
  }
  const source = file !== undefined ? 'SIGNING_KEYS_FILE' : 'SIGNING_KEYS'
  let text = inline
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      problems.push(`SIGNING_KEYS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      return undefined
    }
  }
  if (text === undefined) return undefined
  try {
    return { source, keys: parseSigningKeys(text) }
  } catch (err) {
    problems.push(`${source}: ${(err as Error).message}`)
    return undefined
  }
}

const FACTOR_METHODS = ['totp', 'passkey', 'recovery_codes'] as const

function secondFactorMethods (raw: string | undefined, problems: string[]): Config['secondFactor']['methods'] {
  if (raw === undefined || raw === '') return [...FACTOR_METHODS]
  const names = raw.split(/[\s,]+/).filter(n => n !== '')
  const unknown = names.filter(n => n !== 'none' && !(FACTOR_METHODS as readonly string[]).includes(n))
  if (unknown.length > 0) problems.push(`SECOND_FACTOR_METHODS: unknown method ${unknown.join(', ')}; use a comma-separated list of ${FACTOR_METHODS.join(', ')} (or "none")`)
  if (names.length === 1 && names[0] === 'none') return []
  return FACTOR_METHODS.filter(m => names.includes(m))
}

function readEnv (): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  if (existsSync('.env')) {
    // process.loadEnvFile never overrides variables that are already set.
    process.loadEnvFile('.env')
  }
  Object.assign(env, process.env)
  return env
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}
