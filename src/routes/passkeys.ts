// Passkeys on the pages: adding one at /account/security, and signing in with one
// instead of password + second factor (/login/passkey, usernameless: the discoverable
// credential says whose it is). Each ceremony's challenge is a one-time confirmation
// state's, bound to this session; the browser's answer comes back as a form field.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Confirmations } from '../accounts/confirmations.js'
import type { PasskeyMethod } from '../accounts/factors/passkey.js'
import { freshProof, recordSecondFactorProof } from '../accounts/step-up.js'
import type { UserRecord } from '../oauth/stores.js'
import { PAGE_ROUTE } from '../plugins/pages.js'
import { afterAddingFactor } from './account-security.js'
import { allowOwnScripts } from './page-scripts.js'
import { afterSignIn, completeSignIn } from './sign-in.js'
import { sessionBinding } from './second-factor.js'

const FORM = {
  type: 'object',
  properties: { state: { type: 'string', maxLength: 100 }, response: { type: 'string', maxLength: 20000 }, name: { type: 'string', maxLength: 60 }, _csrf: { type: 'string' } }
} as const

export default async function passkeyRoutes (app: FastifyInstance): Promise<void> {
  const { storage, clock, secondFactor, confirmations, events } = app.codepair
  const passkey = secondFactor.registry.get('passkey') as PasskeyMethod | undefined
  if (passkey === undefined) return // SECOND_FACTOR_METHODS without passkey

  // ---- usernameless sign-in ----

  async function renderSignIn (request: FastifyRequest, reply: FastifyReply, error?: string, status = 200) {
    const now = new Date(clock())
    const state = await confirmations.request({ purpose: 'passkey_sign_in', userId: null, binding: sessionBinding(request.session), now })
    const shown = await passkey?.challenge(null, Confirmations.challengeOf(state))
    allowOwnScripts(reply)
    return await reply.code(status).view('passkey-sign-in', { csrfToken: reply.generateCsrf(), state, options: JSON.stringify(shown?.options), error })
  }

  app.get('/login/passkey', { config: PAGE_ROUTE }, async (request, reply) => {
    if (request.session.userId !== undefined) return await reply.code(303).redirect('/login')
    return await renderSignIn(request, reply)
  })

  app.post('/login/passkey', { config: PAGE_ROUTE, schema: { body: FORM }, preHandler: app.requireCsrf }, async (request, reply) => {
    const { state = '', response = '' } = request.body as { state?: string, response?: string }
    const now = new Date(clock())
    const binding = sessionBinding(request.session)
    const FAILED = request.i18n.t('passkey.signInFailed')
    if (await confirmations.check(state, { purpose: 'passkey_sign_in', binding, now }) === null) return await renderSignIn(request, reply, FAILED, 400)
    const verified = await passkey.verify(null, { response }, Confirmations.challengeOf(state))
    const user = verified === null ? null : await storage.users.findUserById(verified.userId)
    if (verified === null || user === null || !user.enabled || !verified.userVerified ||
        await confirmations.use(state, { purpose: 'passkey_sign_in', binding, now }) === null) {
      await events.emit('user.sign_in_failed', { username: user?.username ?? '', reason: 'invalid', method: 'password', ip: request.ip })
      return await renderSignIn(request, reply, FAILED, 401)
    }
    // A passkey with user verification is two factors in one (possession + PIN or biometrics).
    const amr = [...passkey.amr, 'mfa']
    const vetoed = await completeSignIn(app, request, user, amr, { at: now, amr: passkey.amr, methods: ['passkey'] })
    if (vetoed !== null) return await reply.code(403).view('message', { title: request.i18n.t('factor.vetoedTitle'), message: vetoed, csrfToken: reply.generateCsrf() })
    await storage.audit.record({ type: 'second_factor.used', userId: user.id, ip: request.ip, detail: { purpose: 'passkey_sign_in', method: 'passkey', factor: verified.factorId } }, now)
    return await reply.code(303).redirect(afterSignIn(request.session))
  })

  // ---- adding a passkey ----

  async function signedInUser (request: FastifyRequest, reply: FastifyReply): Promise<UserRecord | null> {
    const { userId } = request.session
    const user = userId === undefined ? null : await storage.users.findUserById(userId)
    if (user === null || !user.enabled) {
      await reply.code(303).redirect('/login')
      return null
    }
    return user
  }

  async function renderEnrol (request: FastifyRequest, reply: FastifyReply, user: UserRecord, error?: string, status = 200) {
    const now = new Date(clock())
    const state = await confirmations.request({ purpose: 'enrol', userId: user.id, subject: 'passkey', binding: sessionBinding(request.session), now })
    const start = await passkey?.enrol({ user, now }, { name: request.i18n.t('passkey.defaultName'), challenge: Confirmations.challengeOf(state) })
    allowOwnScripts(reply)
    return await reply.code(status).view('passkey-enrol', { csrfToken: reply.generateCsrf(), state, options: JSON.stringify(start?.display.options), error })
  }

  app.post('/account/security/passkey', { config: PAGE_ROUTE, preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedInUser(request, reply)
    if (user === null) return
    // Once a factor is set up, adding another needs a fresh proof of it (as in account-security.ts).
    if (await secondFactor.enrolled(user.id) && freshProof(request.session, clock(), secondFactor.settings.stepUpMaxAgeSeconds) === null) {
      request.session.stepUp = 'security'
      return await reply.code(303).redirect('/account/verify')
    }
    return await renderEnrol(request, reply, user)
  })

  app.post('/account/security/passkey/confirm', { config: PAGE_ROUTE, schema: { body: FORM }, preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedInUser(request, reply)
    if (user === null) return
    const { state = '', response = '', name = '' } = request.body as { state?: string, response?: string, name?: string }
    const now = new Date(clock())
    const binding = sessionBinding(request.session)
    const live = await confirmations.check(state, { purpose: 'enrol', binding, subject: 'passkey', now })
    if (live === null || live.userId !== user.id) return await reply.code(303).redirect('/account/security?notice=expired')
    const ok = await passkey.confirmEnrolment({ user, now }, null, { response, name }, Confirmations.challengeOf(state))
    if (!ok || await confirmations.use(state, { purpose: 'enrol', binding, now }) === null) {
      return await renderEnrol(request, reply, user, request.i18n.t('passkey.notSaved'), 400)
    }
    recordSecondFactorProof(request.session, { at: now, amr: passkey.amr, methods: ['passkey'] })
    await storage.audit.record({ type: 'second_factor.added', userId: user.id, ip: request.ip, detail: { method: 'passkey' } }, now)
    return await afterAddingFactor(app, request, reply, user, now)
  })
}
