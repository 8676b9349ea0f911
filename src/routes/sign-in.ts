// Sign-in for the activation pages.
import type { FastifyInstance } from 'fastify'
import { formatRetry } from './activate.js'

const pageConfig = { errorFormat: 'page' } as const

export default async function signInRoutes (app: FastifyInstance): Promise<void> {
  const { signIn, clock } = app.codepair

  app.get('/login', { config: pageConfig }, async (request, reply) => {
    if (request.session.userId !== undefined) return await reply.code(303).redirect(request.session.activation === undefined ? '/activate' : '/activate/confirm')
    return await reply.view('login', { csrfToken: reply.generateCsrf(), username: '', hasActivation: request.session.activation !== undefined })
  })

  app.post('/login', {
    config: pageConfig,
    schema: {
      body: {
        type: 'object',
        properties: { username: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 1024 }, _csrf: { type: 'string' } }
      }
    },
    preHandler: app.csrfProtection
  }, async (request, reply) => {
    const { username = '', password = '' } = request.body as { username?: string, password?: string }
    const render = (error: string, status: number) => reply.code(status).view('login', {
      csrfToken: reply.generateCsrf(), username, error, hasActivation: request.session.activation !== undefined
    })
    if (username.trim() === '' || password === '') return await render('Enter your username and password.', 400)

    const result = await signIn.signIn(username.trim().toLowerCase(), password, request.ip, new Date(clock()))
    if (!result.ok) {
      // One message for an unknown user and a wrong password (no account enumeration).
      return result.reason === 'locked'
        ? await render(`Too many failed sign-ins. Try again after ${formatRetry(result.retryAt)}.`, 429)
        : await render('Incorrect username or password.', 401)
    }
    // A fresh session id after sign-in (session fixation), keeping the pending activation.
    await request.session.regenerate(['activation', 'visitor'])
    request.session.userId = result.user.id
    return await reply.code(303).redirect(request.session.activation === undefined ? '/activate' : '/activate/confirm')
  })

  app.post('/logout', { config: pageConfig, preHandler: app.csrfProtection }, async (request, reply) => {
    await request.session.destroy()
    return await reply.code(303).redirect('/activate')
  })
}
