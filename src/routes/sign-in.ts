// Sign-in for the activation pages.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { EventVetoedError } from '../events/types.js'
import { PAGE_ROUTE } from '../plugins/pages.js'

/** What a sign-in keeps when it regenerates the session (the pending activation above all). */
export const KEPT_ACROSS_SIGN_IN = ['activation', 'visitor', 'returnTo', 'decided'] as const

/** After sign-in: the device waiting for a decision first, then the page that asked for it. */
export function afterSignIn (session: FastifyRequest['session']): string {
  if (session.activation !== undefined) return '/activate/confirm'
  return session.returnTo === 'devices' ? '/account/devices' : '/activate'
}

function intro (request: FastifyRequest): string | undefined {
  const { session, i18n: { t } } = request
  if (session.activation !== undefined) return t('login.introActivation')
  return session.returnTo === 'devices' ? t('login.introDevices') : undefined
}

export default async function signInRoutes (app: FastifyInstance): Promise<void> {
  const { signIn, clock, events, config, upstream } = app.codepair
  // "Sign in with …" buttons beside the form, or instead of it when PASSWORD_SIGN_IN is off.
  const choices = { providers: upstream.buttons(), passwordSignIn: config.passwordSignIn }

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
    preHandler: app.csrfProtection
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
    const { id, username: name, name: fullName, email } = result.user
    try {
      await events.emit('user.signed_in', { user: { id, username: name, name: fullName, email }, method: 'password', ip: request.ip })
    } catch (err) {
      if (err instanceof EventVetoedError) return await render(t('login.vetoed', { reason: err.reason }), 403)
      throw err
    }
    // A fresh session id after sign-in (session fixation), keeping the pending activation.
    await request.session.regenerate([...KEPT_ACROSS_SIGN_IN])
    request.session.userId = result.user.id
    const target = afterSignIn(request.session)
    request.session.returnTo = undefined
    return await reply.code(303).redirect(target)
  })

  app.post('/logout', { config: PAGE_ROUTE, preHandler: app.csrfProtection }, async (request, reply) => {
    const { userId } = request.session
    await request.session.destroy()
    if (userId !== undefined) await events.emit('user.signed_out', { userId, ip: request.ip })
    return await reply.code(303).redirect('/activate')
  })
}
