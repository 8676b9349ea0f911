// "Sign in with …": the round trip to an upstream OpenID Connect provider. The browser
// leaves with state, nonce and a PKCE challenge; what it needs to check the answer stays
// in the server-side session (one pending sign-in, used once), so an answer carried to
// another browser or replayed is refused. The pending device activation stays in the
// session too and survives the trip.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { EventVetoedError } from '../events/types.js'
import { PAGE_ROUTE } from '../plugins/pages.js'
import { summary } from '../upstream/accounts.js'
import { UpstreamInvalidResponseError, UpstreamRefusedError, UpstreamUnavailableError } from '../upstream/errors.js'
import type { UpstreamAuthentication } from '../upstream/mfa.js'
import type { PendingUpstreamSignIn } from '../upstream/provider.js'
import { afterSignIn, KEPT_ACROSS_SIGN_IN } from './sign-in.js'

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
  const { config, upstream, events } = app.codepair

  function page (reply: FastifyReply, status: number, title: string, message: string) {
    return reply.code(status).view('upstream-error', {
      title,
      message,
      passwordSignIn: config.passwordSignIn,
      providers: upstream.buttons(),
      csrfToken: reply.generateCsrf()
    })
  }

  function failure (reply: FastifyReply, displayName: string, err: unknown) {
    if (err instanceof UpstreamUnavailableError) {
      return page(reply, 503, `${displayName} is not answering`, `We could not reach ${displayName} to sign you in. Try again in a few minutes${config.passwordSignIn ? ', or sign in with your username and password' : ''}.`)
    }
    if (err instanceof UpstreamRefusedError) {
      const why = err.error === 'access_denied' ? 'the sign-in was cancelled or refused there' : `it answered "${err.error}"${err.description === undefined ? '' : `: ${err.description}`}`
      return page(reply, 400, `${displayName} did not sign you in`, `${displayName} did not complete the sign-in: ${why}. You can try again.`)
    }
    if (err instanceof UpstreamInvalidResponseError) {
      return page(reply, 400, 'Sign-in could not be verified', `The answer from ${displayName} did not pass our security checks, so you were not signed in. Start again from the sign-in page.`)
    }
    throw err
  }

  app.get('/login/upstream/:provider', {
    config: PAGE_ROUTE,
    schema: PROVIDER_PARAMS
  }, async (request, reply) => {
    const provider = upstream.providers.get((request.params as { provider: string }).provider)
    if (provider === undefined) return await page(reply, 404, 'Unknown sign-in option', 'There is no such sign-in option here.')
    if (request.session.userId !== undefined) return await reply.code(303).redirect(afterSignIn(request.session))
    let started: Awaited<ReturnType<typeof provider.start>>
    try {
      started = await provider.start()
    } catch (err) {
      return await failure(reply, provider.config.displayName, err)
    }
    request.session.upstream = started.pending
    return await reply.code(303).redirect(started.url)
  })

  app.get('/login/upstream/:provider/callback', {
    config: PAGE_ROUTE,
    schema: PROVIDER_PARAMS
  }, async (request, reply) => {
    const provider = upstream.providers.get((request.params as { provider: string }).provider)
    if (provider === undefined) return await page(reply, 404, 'Unknown sign-in option', 'There is no such sign-in option here.')
    const { displayName } = provider.config
    const pending = request.session.upstream
    // Single use: whatever happens next, this answer cannot be replayed in this session.
    request.session.upstream = undefined
    if (pending === undefined || pending.provider !== provider.name) {
      return await page(reply, 400, 'This sign-in has expired', `This answer from ${displayName} does not belong to a sign-in started in this browser, or it was already used. Start again from the sign-in page.`)
    }
    // The redirect_uri registered at the provider, with the answer's parameters (openid-client
    // checks state and iss, then sends the same redirect_uri to the token endpoint).
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''
    let who: Awaited<ReturnType<typeof provider.finish>>
    try {
      who = await provider.finish(new URL(`${config.issuer}/login/upstream/${provider.name}/callback${query}`), pending)
    } catch (err) {
      return await failure(reply, displayName, err)
    }

    const result = await upstream.accounts.resolve(provider.config, who)
    if (!result.ok) {
      await events.emit('user.sign_in_failed', { username: who.preferredUsername ?? who.email ?? who.subject, reason: 'invalid', method: 'upstream', provider: provider.name, ip: request.ip })
      request.log.info({ provider: provider.name, reason: result.reason }, 'upstream sign-in refused')
      return await page(reply, 403, 'You cannot sign in here', result.message)
    }
    try {
      await events.emit('user.signed_in', { user: summary(result.user), method: 'upstream', provider: provider.name, ip: request.ip })
    } catch (err) {
      if (err instanceof EventVetoedError) return await page(reply, 403, 'You cannot sign in here', err.reason)
      throw err
    }
    // A fresh session id after sign-in (session fixation), keeping the pending activation.
    await request.session.regenerate([...KEPT_ACROSS_SIGN_IN])
    request.session.userId = result.user.id
    request.session.upstreamAuthentication = upstream.authentication(provider, who)
    const target = afterSignIn(request.session)
    request.session.returnTo = undefined
    return await reply.code(303).redirect(target)
  })
}
