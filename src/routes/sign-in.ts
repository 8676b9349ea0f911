// Sign-in for the activation pages.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { EventVetoedError } from '../events/types.js'
import type { UserRecord } from '../oauth/stores.js'
import { recordSecondFactorProof } from '../accounts/step-up.js'
import { sessionBinding } from './second-factor.js'
import { PAGE_ROUTE } from '../plugins/pages.js'

/** After sign-in: the device waiting for a decision first, then the page that asked for it. */
function next (session: FastifyRequest['session']): string {
  if (session.activation !== undefined) return '/activate/confirm'
  if (session.returnTo === 'security') return '/account/security'
  return session.returnTo === 'devices' ? '/account/devices' : '/activate'
}

/** Where sign-in leads next, used once. */
export function afterSignIn (session: FastifyRequest['session']): string {
  const target = next(session)
  session.returnTo = undefined
  return target
}

/** Session fields that survive the new session id of each sign-in step. */
export const KEEP_ACROSS_SIGN_IN = ['activation', 'visitor', 'returnTo', 'decided', 'binding', 'stepUp', 'afterEnrol', 'pendingCode'] as const

/**
 * The last step of every sign-in: the user.signed_in hooks (which may veto: the reason
 * is returned), a fresh session id (session fixation), the signed-in user and how they
 * proved it (`amr`, RFC 8176; a second factor's proof is recorded by the caller).
 */
export async function completeSignIn (
  app: FastifyInstance, request: FastifyRequest, user: UserRecord, amr: string[], proof?: Parameters<typeof recordSecondFactorProof>[1]
): Promise<string | null> {
  const { id, username, name, email } = user
  try {
    await app.codepair.events.emit('user.signed_in', { user: { id, username, name, email }, method: 'password', ip: request.ip })
  } catch (err) {
    if (err instanceof EventVetoedError) return err.reason
    throw err
  }
  await request.session.regenerate([...KEEP_ACROSS_SIGN_IN])
  request.session.userId = user.id
  request.session.signInAmr = amr
  request.session.signedInAt = app.codepair.clock()
  if (proof !== undefined) recordSecondFactorProof(request.session, proof)
  return null
}

function intro (request: FastifyRequest): string | undefined {
  const { session, i18n: { t } } = request
  if (session.activation !== undefined) return t('login.introActivation')
  if (session.returnTo === 'activate') return t('login.introSignInFirst')
  if (session.returnTo === 'security') return t('login.introSecurity')
  return session.returnTo === 'devices' ? t('login.introDevices') : undefined
}

export default async function signInRoutes (app: FastifyInstance): Promise<void> {
  const { signIn, clock, events, config, upstream, secondFactor, confirmations } = app.codepair
  const passkeys = secondFactor.registry.has('passkey')
  // "Sign in with …" buttons beside the form, or instead of it when PASSWORD_SIGN_IN is off.
  const choices = { providers: upstream.buttons(), passwordSignIn: config.passwordSignIn, passkeys }

  app.get('/login', { config: PAGE_ROUTE }, async (request, reply) => {
    if (request.session.userId !== undefined) return await reply.code(303).redirect(afterSignIn(request.session))
    return await reply.view('login', { ...choices, csrfToken: reply.generateCsrf(), username: '', intro: intro(request) })
  })

  app.post('/login', {
    config: PAGE_ROUTE,
    schema: {
      body: {
        type: 'object',
        properties: { username: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 1024 }, _csrf: { type: 'string' } }
      }
    },
    preHandler: app.requireCsrf
  }, async (request, reply) => {
    const { username = '', password = '' } = request.body as { username?: string, password?: string }
    const { t, time } = request.i18n
    const render = (error: string, status: number) => reply.code(status).view('login', {
      ...choices,
      csrfToken: reply.generateCsrf(), username, error, intro: intro(request)
    })
    if (!config.passwordSignIn) return await render(t('login.passwordOff'), 403)
    if (username.trim() === '' || password === '') return await render(t('login.empty'), 400)

    const result = await signIn.signIn(username.trim().toLowerCase(), password, request.ip, new Date(clock()))
    if (!result.ok) {
      await events.emit('user.sign_in_failed', { username: username.trim().toLowerCase(), reason: result.reason, method: 'password', ip: request.ip })
      // One message for an unknown user and a wrong password (no account enumeration).
      return result.reason === 'locked'
        ? await render(t('login.locked', { time: time(result.retryAt) }), 429)
        : await render(t('login.incorrect'), 401)
    }
    if (await secondFactor.askAtSignIn(result.user.id)) {
      // The password was right; the second factor comes next, on a new session id
      // (a new id after each sign-in step) with a one-time state bound to this session.
      await request.session.regenerate([...KEEP_ACROSS_SIGN_IN])
      const now = new Date(clock())
      const token = await confirmations.request({ purpose: 'sign_in', userId: result.user.id, binding: sessionBinding(request.session), now })
      request.session.pendingSignIn = { userId: result.user.id, token }
      return await reply.code(303).redirect('/login/second-factor')
    }
    const vetoed = await completeSignIn(app, request, result.user, ['pwd'])
    if (vetoed !== null) return await render(t('login.vetoed', { reason: vetoed }), 403)
    return await reply.code(303).redirect(afterSignIn(request.session))
  })

  app.post('/logout', { config: PAGE_ROUTE, preHandler: app.requireCsrf }, async (request, reply) => {
    const { userId } = request.session
    await request.session.destroy()
    if (userId !== undefined) await events.emit('user.signed_out', { userId, ip: request.ip })
    return await reply.code(303).redirect('/activate')
  })
}
