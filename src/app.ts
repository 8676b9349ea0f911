// buildApp(config): the one place that shows the wiring. server.ts only listens.
import { randomUUID } from 'node:crypto'
import fastifyFormbody from '@fastify/formbody'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import { InvalidRequestError } from './oauth/errors.js'
import { AccountGuard } from './accounts/account-guard.js'
import { Confirmations } from './accounts/confirmations.js'
import { createFactorRegistry } from './accounts/factors/setup.js'
import { SecondFactorService } from './accounts/second-factor.js'
import { SignInService } from './accounts/sign-in.js'
import { UserCodeGuard } from './accounts/user-code-guard.js'
import type { Config } from './config.js'
import type { EventBus } from './events/bus.js'
import { createEvents } from './events/setup.js'
import type { Hooks } from './events/types.js'
import { consumedRetentionSeconds, startPurgeJob } from './jobs/purge.js'
import { AccessTokenIssuer } from './oauth/access-token.js'
import { systemClock, type Clock } from './oauth/clock.js'
import { userCodeMatches } from './oauth/codes.js'
import { DeviceAuthorizationService } from './oauth/device-authorization.js'
import { DeviceCodeGrant } from './oauth/grants/device-code.js'
import { RefreshTokenGrant } from './oauth/grants/refresh-token.js'
import { GrantRegistry } from './oauth/grants/registry.js'
import { IdTokenIssuer } from './oauth/id-token.js'
import { IntrospectionService } from './oauth/introspection.js'
import { RevocationService } from './oauth/revocation.js'
import { TokenService } from './oauth/token-service.js'
import { codepairResource } from './kits/resource/fastify.js'
import { createVerifier, withRevocationCheck, type Verifier } from './kits/resource/verifier.js'
import { storedRevocationCheck } from './oauth/access-token-status.js'
import apiMeRoutes from './routes/api-me.js'
import introspectionRoutes from './routes/introspection.js'
import qrRoutes from './routes/qr.js'
import revocationRoutes from './routes/revocation.js'
import userinfoRoutes from './routes/userinfo.js'
import { LiveCodeGauge } from './oauth/live-codes.js'
import { Metrics } from './metrics/metrics.js'
import metricsPlugin from './metrics/plugin.js'
import { KeyManager } from './oauth/signing-keys.js'
import { signingKeyStore } from './oauth/configured-keys.js'
import errorHandler, { clientErrorHandler, frameworkErrors } from './plugins/error-handler.js'
import pages from './plugins/pages.js'
import rateLimit from './plugins/rate-limit.js'
import accountRoutes from './routes/account.js'
import accountSecurityRoutes from './routes/account-security.js'
import passkeyRoutes from './routes/passkeys.js'
import secondFactorRoutes from './routes/second-factor.js'
import webauthnAssetRoutes from './routes/webauthn-assets.js'
import activateRoutes from './routes/activate.js'
import assetRoutes from './routes/assets.js'
import deviceAuthorizationRoutes from './routes/device-authorization.js'
import deviceAuthorizeRoutes from './routes/device-authorize.js'
import healthRoutes from './routes/health.js'
import rootRoutes from './routes/root.js'
import signInRoutes from './routes/sign-in.js'
import upstreamSignInRoutes from './routes/upstream-sign-in.js'
import tokenRoutes from './routes/token.js'
import wellKnownRoutes from './routes/well-known.js'
import { resolveSecrets, type Secrets } from './secrets.js'
import { createStorage, type Storage } from './storage/index.js'
import { UpstreamSignIn } from './upstream/index.js'

export interface Services {
  config: Config
  clock: Clock
  storage: Storage
  secrets: Secrets
  keys: KeyManager
  tokens: TokenService
  /** Verifies our access tokens for any audience (introspection, revocation). */
  verifier: Verifier
  grants: GrantRegistry
  revocation: RevocationService
  introspection: IntrospectionService
  deviceAuthorization: DeviceAuthorizationService
  signIn: SignInService
  userCodeGuard: UserCodeGuard
  accountGuard: AccountGuard
  /** Second-factor methods, policy and verification (src/accounts/factors). */
  secondFactor: SecondFactorService
  /** One-time confirmation states for second-factor prompts and enrolments. */
  confirmations: Confirmations
  /** emit() one event per event site (src/events/types.ts Emitter); use() adds hooks at run time. */
  events: EventBus
  /** "Sign in with …" upstream OpenID Connect providers (UPSTREAM_PROVIDERS_FILE). */
  upstream: UpstreamSignIn
  /** The Prometheus metrics (src/metrics); undefined when METRICS_ENABLED=false. */
  metrics: Metrics | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    codepair: Services
    /** Set by server.ts on SIGTERM: readiness answers 503 while requests are still served. */
    /** Shutdown state: draining (readiness 503) begins with beginDrain(), which also stops the webhook worker. */
    lifecycle: { draining: boolean, beginDrain: () => Promise<void> }
  }
}

export interface BuildOptions {
  /** Frozen or fake clock for tests; defaults to Date.now. */
  clock?: Clock
  /** Use this storage instead of opening DATABASE_URL (the caller closes it). */
  storage?: Storage
  /** Where JSON logs go (default stdout); tests capture them to check nothing secret is logged. */
  logStream?: { write (line: string): void }
  /** Extension hooks (README "Events and hooks"), after those of HOOKS_MODULE. */
  hooks?: Hooks | Hooks[]
  /** Told of every route as it is added (the fuzz suite covers new routes by itself). */
  onRoute?: (route: RouteOptions) => void
}

/** A second-factor prompt or enrolment must be answered within this time (one-time confirmation states). */
const CONFIRMATION_TTL_SECONDS = 300

/** True when a string anywhere in a parsed query or body (a few levels deep) contains U+0000. */
function hasNul (value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (depth > 4 || value === null || typeof value !== 'object') return false
  for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || hasNul(v, depth + 1)) return true
  return false
}

/** Never log secrets: no query strings (user codes), no Authorization or Cookie headers. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]']

export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
      redact: REDACT,
      serializers: {
        req: (req) => ({ method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip })
      }
    },
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    // Refusals before routing answer in the RFC 6749 §5.2 shape too (error-handler.ts).
    frameworkErrors,
    clientErrorHandler
  })

  // Draining stops background work at once (a webhook delivery in flight is handed back,
  // not counted as a failed attempt) while requests are still served.
  let stopWorker = async (): Promise<void> => {}
  const lifecycle = {
    draining: false,
    async beginDrain () {
      lifecycle.draining = true
      await stopWorker()
    }
  }
  app.decorate('lifecycle', lifecycle)
  if (options.onRoute !== undefined) app.addHook('onRoute', options.onRoute)
  // No parameter may carry a NUL: PostgreSQL refuses it in text (a 500 otherwise, found by
  // the fuzz suite); no protocol value has one. Refused as invalid_request (or a page).
  app.addHook('preValidation', async (request) => {
    if (hasNul(request.query) || hasNul(request.body)) throw new InvalidRequestError('a parameter contains a NUL character')
  })

  const ownsStorage = options.storage === undefined
  const storage = options.storage ?? await createStorage(config.database, clock)
  // The webhook worker and running hooks stop before the database closes.
  let stopEvents = async (): Promise<void> => {}
  app.addHook('onClose', async () => {
    await stopEvents()
    if (ownsStorage) await storage.close()
  })

  try {
    const secrets = await resolveSecrets(config, storage)
    if (config.secureCookies && config.trustProxy === false) {
      app.log.warn(`ISSUER is ${config.issuer} but TRUST_PROXY is off. codepair serves plain http: put it behind a TLS proxy and set TRUST_PROXY (or per-address limits see only the proxy), and never open its pages over plain http, where browsers drop the Secure session cookie and every form fails`)
    }
    if (secrets.generated) app.log.warn('SECRET_KEY is not set: using a development secret kept in the database (production mode refuses this)')
    const keys = new KeyManager(signingKeyStore(config.signingKeys, storage.signingKeys, clock), secrets.keyEncryptionKey, config.signingAlg, clock)
    await keys.init()
    keys.startReloading(config.keyReloadSeconds, err => app.log.warn({ err }, 'could not reload signing keys; keeping the current ones'))
    app.addHook('onClose', async () => keys.stop())
    const events = await createEvents(config, storage, secrets, app.log, clock, options.hooks)
    stopEvents = events.stop
    stopWorker = events.stopWorker
    const tokens = new TokenService(config, new AccessTokenIssuer(keys, config.issuer), new IdTokenIssuer(keys, config.issuer), events.permissions)
    const verifier = createVerifier({ issuer: config.issuer, keys: keys.getKey, clockToleranceSeconds: config.clockToleranceSeconds, now: clock })
    const accountGuard = new AccountGuard(storage.users, storage.attempts, config.loginFailures.perAccount)
    const liveCodes = new LiveCodeGauge(storage.devices, clock)
    const metrics = config.metrics.enabled
      ? new Metrics({ liveCodes: async () => await storage.devices.countLive(new Date(clock())), maxLiveCodes: config.maxLiveCodes, timing: storage.timing })
      : undefined
    if (metrics !== undefined) {
      const unobserve = events.bus.observe(metrics.event)
      app.addHook('onClose', async () => { unobserve(); metrics.close() })
    }
    const grants = new GrantRegistry()
      .register(new DeviceCodeGrant(config, storage.devices, accountGuard, tokens, clock, events.bus,
        (presented, storedHash) => userCodeMatches(secrets.userCodeKey, presented, storedHash)))
      .register(new RefreshTokenGrant(
        { defaultAudience: config.defaultAudience, reuseGraceSeconds: config.refreshTokenReuseGraceSeconds },
        storage.refreshTokens, accountGuard, tokens, clock, events.bus, storage.devices))
    app.decorate('codepair', {
      config,
      clock,
      storage,
      secrets,
      keys,
      tokens,
      verifier,
      grants,
      accountGuard,
      events: events.bus,
      metrics,
      revocation: new RevocationService(storage.refreshTokens, storage.revokedTokens, verifier, clock, events.bus),
      introspection: new IntrospectionService(config.issuer, storage.refreshTokens, storage.accessTokenStatus, verifier, accountGuard, clock),
      deviceAuthorization: new DeviceAuthorizationService(config, storage.devices, storage.resourceServers, secrets.userCodeKey, liveCodes, clock, events.bus),
      signIn: new SignInService(storage.users, storage.attempts, config.loginFailures),
      secondFactor: new SecondFactorService(createFactorRegistry(config, storage, secrets), storage.factors, storage.attempts, {
        policy: config.secondFactor.policy,
        stepUpMaxAgeSeconds: config.secondFactor.stepUpMaxAgeSeconds,
        failuresPerAccount: config.loginFailures.perAccount,
        lockoutSeconds: config.loginFailures.lockoutSeconds
      }),
      confirmations: new Confirmations(storage.confirmations, CONFIRMATION_TTL_SECONDS),
      userCodeGuard: new UserCodeGuard(storage.attempts, { ...config.userCodeFailures, windowSeconds: config.deviceCodeTtlSeconds }),
      upstream: new UpstreamSignIn(config, storage.identities, events.bus, clock, app.log)
    } satisfies Services)
    events.startWorker()
  } catch (err) {
    await app.close()
    throw err
  }

  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  await app.register(errorHandler)
  await app.register(metricsPlugin, { metrics: app.codepair.metrics })
  await app.register(fastifyFormbody)
  await app.register(rateLimit)

  // Device-facing JSON endpoints: no sessions, no cookies, no templates.
  await app.register(healthRoutes)
  await app.register(rootRoutes)
  await app.register(wellKnownRoutes)
  await app.register(deviceAuthorizationRoutes)
  await app.register(tokenRoutes)
  await app.register(deviceAuthorizeRoutes)
  await app.register(revocationRoutes)
  await app.register(introspectionRoutes)

  // Protected APIs, through the same plugin resource servers use (codepair/resource),
  // with our own keys in memory instead of a remote JWKS, and one read per request (shared
  // by the requests of an event-loop turn) so a revoked token stops at once.
  const { verifier } = app.codepair
  await app.register(codepairResource, {
    verifier: withRevocationCheck(
      { verify: async (token, options) => await verifier.verify(token, { ...options, audience: config.defaultAudience }) },
      storedRevocationCheck(storage.accessTokenStatus))
  })
  await app.register(userinfoRoutes)
  await app.register(apiMeRoutes)
  await app.register(assetRoutes)
  await app.register(webauthnAssetRoutes)
  await app.register(qrRoutes)

  // Browser pages, in their own scope with sessions, CSRF and strict headers.
  await app.register(async (scope) => {
    await scope.register(pages)
    await scope.register(activateRoutes)
    await scope.register(signInRoutes)
    await scope.register(upstreamSignInRoutes)
    await scope.register(accountRoutes)
    await scope.register(secondFactorRoutes)
    await scope.register(accountSecurityRoutes)
    await scope.register(passkeyRoutes)
  })

  const stopPurge = startPurgeJob(storage, clock, config.purgeIntervalSeconds, consumedRetentionSeconds(config), app.log, config.webhooks.retentionSeconds,
    (ok, rows) => app.codepair.metrics?.purgeRun(ok, rows))
  app.addHook('onClose', async () => stopPurge())
  return app
}
