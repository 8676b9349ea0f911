// "Sign in with …": the round trip to an upstream OpenID Connect provider. The browser
// leaves with state, nonce and a PKCE challenge; what it needs to check the answer stays
// in the server-side session (one pending sign-in, used once), so an answer carried to
// another browser or replayed is refused. The pending device activation stays in the
// session too and survives the trip.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { EventVetoedError } from '../events/types.js'
import { PAGE_ROUTE } from '../plugins/pages.js'
import { summary, type ResolveResult } from '../upstream/accounts.js'
import { UpstreamInvalidResponseError, UpstreamRefusedError, UpstreamUnavailableError } from '../upstream/errors.js'
import type { UpstreamAuthentication } from '../upstream/mfa.js'
import type { PendingUpstreamSignIn } from '../upstream/provider.js'
import { recordSecondFactorProof } from '../accounts/step-up.js'
import { afterSignIn, KEEP_ACROSS_SIGN_IN } from './sign-in.js'

declare module 'fastify' {
  interface Session {
    /** Between leaving for a provider and coming back: what checks its answer (single use). */
    upstream?: PendingUpstreamSignIn
    /** How the person authenticated upstream (amr, acr, auth_time), for the second-factor policy. */
    upstreamAuthentication?: UpstreamAuthentication
  }
}

const PROVIDER_PARAMS = { params: { type: 'object', properties: { provider: { type: 'string', maxLength: 64 } }, required: ['provider'] } } as const

export default async function upstreamSignInRoutes (app: FastifyInstance): Promise<void> {
  const { config, upstream, events, clock } = app.codepair

  function page (reply: FastifyReply, status: number, title: string, message: string) {
    return reply.code(status).view('upstream-error', {
      title,
      message,
      passwordSignIn: config.passwordSignIn,
      providers: upstream.buttons(),
      csrfToken: reply.generateCsrf()
    })
  }

  function failure (request: FastifyRequest, reply: FastifyReply, provider: string, err: unknown) {
    const { t } = request.i18n
    if (err instanceof UpstreamUnavailableError) {
      return page(reply, 503, t('upstream.downTitle', { provider }), config.passwordSignIn ? t('upstream.downPassword', { provider }) : t('upstream.down', { provider }))
    }
    if (err instanceof UpstreamRefusedError) {
      const message = err.error === 'access_denied'
        ? t('upstream.cancelled', { provider })
        : err.description === undefined ? t('upstream.answered', { provider, error: err.error }) : t('upstream.answeredWhy', { provider, error: err.error, description: err.description })
      return page(reply, 400, t('upstream.refusedTitle', { provider }), message)
    }
    if (err instanceof UpstreamInvalidResponseError) {
      return page(reply, 400, t('upstream.invalidTitle'), t('upstream.invalid', { provider }))
    }
    throw err
  }

  /** Why an identity was refused, in the person's language. */
  function refusal (request: FastifyRequest, provider: string, email: string | null, result: Exclude<ResolveResult, { ok: true }>): string {
    const { t } = request.i18n
    switch (result.reason) {
      case 'not_provisioned': return t('upstream.notProvisioned', { provider })
      case 'unverified_email': return t('upstream.unverifiedEmail', { provider, email })
      case 'ambiguous_email': return t('upstream.ambiguousEmail', { provider, email })
      case 'linked_elsewhere': return t('upstream.linkedElsewhere', { provider, email })
      case 'disabled': return t('upstream.disabled')
      case 'vetoed': return t('upstream.vetoedCreate', { reason: result.veto })
    }
  }

  function unknown (request: FastifyRequest, reply: FastifyReply) {
    return page(reply, 404, request.i18n.t('upstream.unknownTitle'), request.i18n.t('upstream.unknown'))
  }

  app.get('/login/upstream/:provider', {
    config: PAGE_ROUTE,
    schema: PROVIDER_PARAMS
  }, async (request, reply) => {
    const provider = upstream.providers.get((request.params as { provider: string }).provider)
    if (provider === undefined) return await unknown(request, reply)
    if (request.session.userId !== undefined) return await reply.code(303).redirect(afterSignIn(request.session))
    let started: Awaited<ReturnType<typeof provider.start>>
    try {
      started = await provider.start()
    } catch (err) {
      return await failure(request, reply, provider.config.displayName, err)
    }
    request.session.upstream = started.pending
    return await reply.code(303).redirect(started.url)
  })

  app.get('/login/upstream/:provider/callback', {
    config: PAGE_ROUTE,
    schema: PROVIDER_PARAMS
  }, async (request, reply) => {
    const provider = upstream.providers.get((request.params as { provider: string }).provider)
    if (provider === undefined) return await unknown(request, reply)
    const { displayName } = provider.config
    const pending = request.session.upstream
    // Single use: whatever happens next, this answer cannot be replayed in this session.
    request.session.upstream = undefined
    if (pending === undefined || pending.provider !== provider.name) {
      return await page(reply, 400, request.i18n.t('upstream.expiredTitle'), request.i18n.t('upstream.expired', { provider: displayName }))
    }
    // The redirect_uri registered at the provider, with the answer's parameters (openid-client
    // checks state and iss, then sends the same redirect_uri to the token endpoint).
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''
    let who: Awaited<ReturnType<typeof provider.finish>>
    try {
      who = await provider.finish(new URL(`${config.issuer}/login/upstream/${provider.name}/callback${query}`), pending)
    } catch (err) {
      return await failure(request, reply, displayName, err)
    }

    const result = await upstream.accounts.resolve(provider.config, who)
    if (!result.ok) {
      await events.emit('user.sign_in_failed', { username: who.preferredUsername ?? who.email ?? who.subject, reason: 'invalid', method: 'upstream', provider: provider.name, ip: request.ip })
      request.log.info({ provider: provider.name, reason: result.reason }, 'upstream sign-in refused')
      return await page(reply, 403, request.i18n.t('upstream.refusedAccountTitle'), refusal(request, displayName, who.email, result))
    }
    try {
      await events.emit('user.signed_in', { user: summary(result.user), method: 'upstream', provider: provider.name, ip: request.ip })
    } catch (err) {
      if (err instanceof EventVetoedError) return await page(reply, 403, request.i18n.t('upstream.refusedAccountTitle'), err.reason)
      throw err
    }
    // A fresh session id after sign-in (session fixation), keeping the pending activation.
    await request.session.regenerate([...KEEP_ACROSS_SIGN_IN])
    const authentication = upstream.authentication(provider, who)
    request.session.userId = result.user.id
    request.session.upstreamAuthentication = authentication
    request.session.signInAmr = authentication.amr.length > 0 ? authentication.amr : ['ext']
    request.session.signedInAt = clock()
    // A provider the operator trusts for MFA (trustMfa) whose amr shows a second factor
    // satisfies step-up (README "Second factor"), as of the time it reports (auth_time).
    if (authentication.mfa) {
      const at = new Date(Math.min(clock(), (authentication.authTime ?? clock() / 1000) * 1000))
      recordSecondFactorProof(request.session, { at, amr: authentication.amr, methods: [`upstream:${provider.name}`] })
    }
    return await reply.code(303).redirect(afterSignIn(request.session))
  })
}
