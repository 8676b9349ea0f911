// The second-factor prompt: after the password at sign-in (/login/second-factor) and
// before approving a device or changing how one signs in (/account/verify, step-up).
// Every failure gets one message (a wrong code, a replayed one, an unknown recovery
// code), and each prompt carries a one-time confirmation state bound to this session.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Confirmations, type ConfirmationPurpose } from '../accounts/confirmations.js'
import { normalizeRecoveryCode } from '../accounts/factors/recovery-codes.js'
import { totpCode } from '../accounts/factors/totp.js'
import type { VerifyOutcome } from '../accounts/second-factor.js'
import { recordSecondFactorProof, type SecondFactorProof } from '../accounts/step-up.js'
import type { UserRecord } from '../oauth/stores.js'
import { PAGE_ROUTE } from '../plugins/pages.js'
import { allowOwnScripts } from './page-scripts.js'
import { afterSignIn, completeSignIn } from './sign-in.js'

declare module 'fastify' {
  interface Session {
    /** Random, kept across new session ids: what one-time confirmation states are bound to. */
    binding?: string
    /** The password was right; the second factor is next. */
    pendingSignIn?: { userId: string, token: string }
    /** The last second-factor proof of this session (src/accounts/step-up.ts). */
    secondFactor?: SecondFactorProof
    /** RFC 8176 amr of the sign-in itself. */
    signInAmr?: string[]
    signedInAt?: number
    /** Where a step-up leads once proven. */
    stepUp?: 'activate' | 'security'
    /** A person who had to set up a second factor first goes back here afterwards. */
    afterEnrol?: 'activate'
  }
}

/** The session's binding value, made on first use. */
export function sessionBinding (session: FastifyRequest['session']): string {
  session.binding ??= randomBytes(24).toString('base64url')
  return session.binding
}

/** Which method a typed code is for: six digits are a TOTP code, the dashed form a recovery code. */
export function methodOfCode (code: unknown): 'totp' | 'recovery_codes' | null {
  if (totpCode({ code }) !== null) return 'totp'
  if (normalizeRecoveryCode(code) !== null) return 'recovery_codes'
  return null
}

const STEP_UP_TARGET = { activate: '/activate/confirm', security: '/account/security' } as const

export default async function secondFactorRoutes (app: FastifyInstance): Promise<void> {
  const { storage, clock, confirmations, secondFactor, events } = app.codepair

  async function render (reply: FastifyReply, opts: { action: string, state: string, intro: string, error?: string, status?: number, user: UserRecord }) {
    const methods = (await secondFactor.active(opts.user.id)).map(f => f.method)
    const passkey = methods.includes('passkey')
      ? await secondFactor.registry.get('passkey')?.challenge({ user: opts.user, now: new Date(clock()) }, Confirmations.challengeOf(opts.state))
      : null
    if (passkey != null) allowOwnScripts(reply)
    return await reply.code(opts.status ?? 200).view('second-factor', {
      passkeyOptions: passkey == null ? null : JSON.stringify(passkey.options),
      csrfToken: reply.generateCsrf(),
      action: opts.action,
      state: opts.state,
      intro: opts.intro,
      error: opts.error,
      hasTotp: methods.includes('totp'),
      hasRecovery: methods.includes('recovery_codes') && secondFactor.registry.has('recovery_codes')
    })
  }

  /** Verifies a passkey's answer, or a typed code with the method it looks like; the outcome, after the throttle. */
  async function check (user: UserRecord, input: { code?: string, method?: string, response?: string, state: string }, now: Date): Promise<VerifyOutcome> {
    if (input.method === 'passkey') return await secondFactor.verify('passkey', { user, now }, { response: input.response }, Confirmations.challengeOf(input.state))
    const code = input.code
    const method = methodOfCode(code)
    // An unrecognisable entry counts as a failure too (same message, same budget).
    return await secondFactor.verify(method ?? 'none', { user, now }, { code })
  }

  function failure (request: FastifyRequest, outcome: Exclude<VerifyOutcome, { ok: true }>): { error: string, status: number } {
    return outcome.reason === 'locked'
      ? { error: request.i18n.t('factor.locked', { time: request.i18n.time(outcome.retryAt) }), status: 429 }
      : { error: request.i18n.t('factor.failed'), status: 401 }
  }

  const body = {
    type: 'object',
    properties: {
      code: { type: 'string', maxLength: 100 },
      state: { type: 'string', maxLength: 100 },
      method: { type: 'string', enum: ['code', 'passkey'] },
      response: { type: 'string', maxLength: 20000 },
      _csrf: { type: 'string' }
    }
  } as const

  // ---- sign-in: the password was right ----

  app.get('/login/second-factor', { config: PAGE_ROUTE }, async (request, reply) => {
    const pending = request.session.pendingSignIn
    if (pending === undefined) return await reply.code(303).redirect('/login')
    const user = await storage.users.findUserById(pending.userId)
    if (user === null) return await reply.code(303).redirect('/login')
    return await render(reply, { action: '/login/second-factor', state: pending.token, intro: request.i18n.t('factor.introSignIn'), user })
  })

  app.post('/login/second-factor', { config: PAGE_ROUTE, schema: { body }, preHandler: app.requireCsrf }, async (request, reply) => {
    const input = request.body as { code?: string, state?: string, method?: string, response?: string }
    const state = input.state ?? ''
    const pending = request.session.pendingSignIn
    if (pending === undefined) return await reply.code(303).redirect('/login')
    const now = new Date(clock())
    const binding = sessionBinding(request.session)
    const expired = async () => {
      request.session.pendingSignIn = undefined
      return await reply.code(303).redirect('/login')
    }
    const stateOk = await confirmations.check(state, { purpose: 'sign_in', binding, now })
    if (stateOk === null || stateOk.userId !== pending.userId) return await expired()
    const user = await storage.users.findUserById(pending.userId)
    if (user === null || !user.enabled) return await expired()

    const outcome = await check(user, { ...input, state }, now)
    if (!outcome.ok) {
      await events.emit('user.sign_in_failed', { username: user.username, reason: outcome.reason, method: 'password', ip: request.ip })
      await storage.audit.record({ type: 'second_factor.failed', userId: user.id, ip: request.ip, detail: { purpose: 'sign_in', reason: outcome.reason } }, now)
      return await render(reply, { action: '/login/second-factor', state, intro: request.i18n.t('factor.introSignIn'), user, ...failure(request, outcome) })
    }
    // The state is used once: a second submission of the same form signs nobody in.
    if (await confirmations.use(state, { purpose: 'sign_in', binding, now }) === null) return await expired()
    request.session.pendingSignIn = undefined
    const proof = { at: now, amr: outcome.amr, methods: [outcome.verified.method] }
    const vetoed = await completeSignIn(app, request, user, ['pwd', ...outcome.amr, 'mfa'], proof)
    if (vetoed !== null) return await reply.code(403).view('message', { title: request.i18n.t('factor.vetoedTitle'), message: vetoed, csrfToken: reply.generateCsrf() })
    await storage.audit.record({ type: 'second_factor.used', userId: user.id, ip: request.ip, detail: { purpose: 'sign_in', method: outcome.verified.method } }, now)
    return await reply.code(303).redirect(afterSignIn(request.session))
  })

  // ---- step-up: a signed-in person proves it again ----

  /** The purpose and subject of this step-up's confirmation state. */
  function stepUpOf (request: FastifyRequest): { purpose: ConfirmationPurpose, subject: string } | null {
    const target = request.session.stepUp
    if (target === 'activate') {
      const activation = request.session.activation
      return activation === undefined ? null : { purpose: 'step_up', subject: `activate:${activation.id}` }
    }
    return target === 'security' ? { purpose: 'step_up', subject: 'security' } : null
  }

  function stepUpIntro (request: FastifyRequest): string {
    return request.session.stepUp === 'activate' ? request.i18n.t('factor.introActivate') : request.i18n.t('factor.introSecurity')
  }

  app.get('/account/verify', { config: PAGE_ROUTE }, async (request, reply) => {
    const { userId } = request.session
    if (userId === undefined) return await reply.code(303).redirect('/login')
    const what = stepUpOf(request)
    if (what === null) return await reply.code(303).redirect('/account/security')
    const user = await storage.users.findUserById(userId)
    if (user === null || !user.enabled) return await reply.code(303).redirect('/login')
    const state = await confirmations.request({ ...what, userId, binding: sessionBinding(request.session), now: new Date(clock()) })
    return await render(reply, { action: '/account/verify', state, intro: stepUpIntro(request), user })
  })

  app.post('/account/verify', { config: PAGE_ROUTE, schema: { body }, preHandler: app.requireCsrf }, async (request, reply) => {
    const input = request.body as { code?: string, state?: string, method?: string, response?: string }
    const state = input.state ?? ''
    const { userId } = request.session
    if (userId === undefined) return await reply.code(303).redirect('/login')
    const what = stepUpOf(request)
    if (what === null) return await reply.code(303).redirect('/account/security')
    const now = new Date(clock())
    const binding = sessionBinding(request.session)
    const live = await confirmations.check(state, { ...what, binding, now })
    if (live === null || live.userId !== userId) return await reply.code(303).redirect('/account/verify')
    const user = await storage.users.findUserById(userId)
    if (user === null || !user.enabled) return await reply.code(303).redirect('/login')

    const outcome = await check(user, { ...input, state }, now)
    if (!outcome.ok) {
      await storage.audit.record({ type: 'second_factor.failed', userId, ip: request.ip, detail: { purpose: what.subject, reason: outcome.reason } }, now)
      return await render(reply, { action: '/account/verify', state, intro: stepUpIntro(request), user, ...failure(request, outcome) })
    }
    if (await confirmations.use(state, { ...what, binding, now }) === null) return await reply.code(303).redirect('/account/verify')
    recordSecondFactorProof(request.session, { at: now, amr: outcome.amr, methods: [outcome.verified.method] })
    await storage.audit.record({ type: 'second_factor.used', userId, ip: request.ip, detail: { purpose: what.subject, method: outcome.verified.method } }, now)
    const target = STEP_UP_TARGET[request.session.stepUp ?? 'security']
    request.session.stepUp = undefined
    return await reply.code(303).redirect(target)
  })
}
