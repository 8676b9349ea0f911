// /account/security: a person's second-factor methods (add, rename, remove), recovery
// codes, password change and "sign out everywhere". Changing how one signs in needs a
// fresh second-factor proof once one is set up (step-up, /account/verify); each change
// writes the audit log.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import QRCode from 'qrcode'
import { hashPassword, passwordProblem } from '../accounts/password.js'
import type { RecoveryCodesMethod } from '../accounts/factors/recovery-codes.js'
import type { TotpMethod } from '../accounts/factors/totp.js'
import type { FactorRecord } from '../accounts/factors/types.js'
import { freshProof, recordSecondFactorProof } from '../accounts/step-up.js'
import type { UserRecord } from '../oauth/stores.js'
import type { PageText } from '../i18n/page-text.js'
import { PAGE_ROUTE } from '../plugins/pages.js'
import { sessionBinding } from './second-factor.js'

/** The notice a redirect names (?notice=…), in the page's language; literal keys for the catalogue check. */
function noticeText ({ t }: PageText, notice: unknown): string | undefined {
  switch (notice) {
    case 'required': return t('security.notice.required')
    case 'added': return t('security.notice.added')
    case 'renamed': return t('security.notice.renamed')
    case 'removed': return t('security.notice.removed')
    case 'last-factor': return t('security.notice.lastFactor')
    case 'missing': return t('security.notice.missing')
    case 'expired': return t('security.notice.expired')
    case 'password': return t('security.notice.password')
    default: return undefined
  }
}

function methodLabel ({ t }: PageText, method: string): string {
  switch (method) {
    case 'totp': return t('security.methodTotp')
    case 'passkey': return t('security.methodPasskey')
    default: return t('security.methodRecovery')
  }
}

const NAME = { type: 'string', maxLength: 60 } as const
const ID = { type: 'string', minLength: 1, maxLength: 100 } as const

export default async function accountSecurityRoutes (app: FastifyInstance): Promise<void> {
  const { storage, clock, secondFactor, confirmations, signIn, events } = app.codepair
  const maxAge = secondFactor.settings.stepUpMaxAgeSeconds

  /** The signed-in, enabled person, or a redirect to sign in (coming back here). */
  async function signedIn (request: FastifyRequest, reply: FastifyReply): Promise<UserRecord | null> {
    const { userId } = request.session
    const user = userId === undefined ? null : await storage.users.findUserById(userId)
    if (user === null || !user.enabled) {
      if (userId !== undefined) await request.session.destroy()
      else request.session.returnTo = 'security'
      await reply.code(303).redirect('/login')
      return null
    }
    return user
  }

  /**
   * Once a person has a second factor, changing their methods needs a fresh proof of it
   * (an attacker holding only a session cannot add their own authenticator). false: the
   * reply already redirects to the prompt.
   */
  async function proven (request: FastifyRequest, reply: FastifyReply, user: UserRecord): Promise<boolean> {
    if (!await secondFactor.enrolled(user.id)) return true
    if (freshProof(request.session, clock(), maxAge) !== null) return true
    request.session.stepUp = 'security'
    await reply.code(303).redirect('/account/verify')
    return false
  }

  function describe (request: FastifyRequest, f: FactorRecord, now: number, remaining: number) {
    const formatWhen = request.i18n.when
    return {
      id: f.id,
      method: f.method,
      label: methodLabel(request.i18n, f.method),
      name: f.name,
      createdAt: formatWhen(f.createdAt, now),
      lastUsedAt: f.lastUsedAt === null ? request.i18n.t('security.never') : formatWhen(f.lastUsedAt, now),
      remaining: f.method === 'recovery_codes' ? remaining : undefined
    }
  }

  app.get('/account/security', { config: PAGE_ROUTE }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const now = clock()
    const recovery = secondFactor.registry.get('recovery_codes') as RecoveryCodesMethod | undefined
    const [factors, remaining] = await Promise.all([secondFactor.active(user.id), recovery?.remaining(user.id) ?? 0])
    const q = (request.query ?? {}) as Record<string, unknown>
    return await reply.view('security', {
      csrfToken: reply.generateCsrf(),
      username: user.username,
      notice: noticeText(request.i18n, q.notice),
      factors: factors.map(f => describe(request, f, now, remaining)),
      canAddTotp: secondFactor.registry.has('totp'),
      canAddPasskey: secondFactor.registry.has('passkey'),
      canRecover: recovery !== undefined && factors.some(f => secondFactor.registry.get(f.method)?.primary === true),
      policy: secondFactor.settings.policy,
      continueToDevice: request.session.afterEnrol === 'activate' && request.session.activation !== undefined
    })
  })

  // ---- TOTP enrolment: a pending secret, shown as a QR code and as text, activated by one valid code ----

  app.post('/account/security/totp', { config: PAGE_ROUTE, preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const totp = secondFactor.registry.get('totp') as TotpMethod | undefined
    if (totp === undefined) return await reply.code(303).redirect('/account/security')
    if (!await proven(request, reply, user)) return
    const now = new Date(clock())
    const start = await totp.enrol({ user, now }, { name: request.i18n.t('totp.defaultName') })
    const state = await confirmations.request({ purpose: 'enrol', userId: user.id, subject: start.factorId, binding: sessionBinding(request.session), now })
    return await renderTotp(request, reply, user, start.factorId ?? '', state)
  })

  async function renderTotp (request: FastifyRequest, reply: FastifyReply, user: UserRecord, factorId: string, state: string, error?: string) {
    const totp = secondFactor.registry.get('totp') as TotpMethod
    const shown = await totp.provisioning(factorId, user)
    if (shown === null) return await reply.code(303).redirect('/account/security?notice=expired')
    // Server-rendered SVG (no script, nothing fetched): the page carries the secret once.
    const qr = await QRCode.toString(shown.uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' })
    return await reply.code(error === undefined ? 200 : 400).view('totp-enrol', {
      csrfToken: reply.generateCsrf(), qr, secret: shown.secret, state, error
    })
  }

  app.post('/account/security/totp/confirm', {
    config: PAGE_ROUTE,
    schema: { body: { type: 'object', properties: { state: ID, code: { type: 'string', maxLength: 40 }, name: NAME, _csrf: { type: 'string' } } } },
    preHandler: app.requireCsrf
  }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const { state = '', code = '', name = '' } = request.body as { state?: string, code?: string, name?: string }
    const now = new Date(clock())
    const binding = sessionBinding(request.session)
    const live = await confirmations.check(state, { purpose: 'enrol', binding, now })
    if (live === null || live.userId !== user.id || live.subject === null) return await reply.code(303).redirect('/account/security?notice=expired')
    const totp = secondFactor.registry.get('totp') as TotpMethod
    const ok = await totp.confirmEnrolment({ user, now }, live.subject, { code, name: name.trim() === '' ? request.i18n.t('totp.defaultName') : name.trim() })
    if (!ok) return await renderTotp(request, reply, user, live.subject, state, request.i18n.t('totp.mismatch'))
    await confirmations.use(state, { purpose: 'enrol', binding, now })
    // The valid code proves the person holds the new authenticator.
    recordSecondFactorProof(request.session, { at: now, amr: totp.amr, methods: ['totp'] })
    await storage.audit.record({ type: 'second_factor.added', userId: user.id, ip: request.ip, detail: { method: 'totp', factor: live.subject } }, now)
    return await afterAdding(request, reply, user, now)
  })

  const afterAdding = async (request: FastifyRequest, reply: FastifyReply, user: UserRecord, now: Date) => await afterAddingFactor(app, request, reply, user, now)

  // ---- rename, remove, new recovery codes ----

  const factorBody = (extra: Record<string, unknown> = {}) => ({
    body: { type: 'object', properties: { factor: ID, _csrf: { type: 'string' }, ...extra }, required: ['factor'] }
  })

  app.post('/account/security/rename', { config: PAGE_ROUTE, schema: factorBody({ name: NAME }), preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const { factor, name = '' } = request.body as { factor: string, name?: string }
    const trimmed = name.trim()
    // Only the owner's active configuration changes; a name is no secret, so no step-up.
    const ok = trimmed !== '' && await storage.factors.rename(factor, user.id, trimmed)
    if (ok) await storage.audit.record({ type: 'second_factor.renamed', userId: user.id, ip: request.ip, detail: { factor } }, new Date(clock()))
    return await reply.code(303).redirect(`/account/security?notice=${ok ? 'renamed' : 'missing'}`)
  })

  app.post('/account/security/remove', { config: PAGE_ROUTE, schema: factorBody(), preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const { factor } = request.body as { factor: string }
    const active = await secondFactor.active(user.id)
    const target = active.find(f => f.id === factor)
    if (target === undefined) return await reply.code(303).redirect('/account/security?notice=missing')
    if (!await proven(request, reply, user)) return
    const primaries = active.filter(f => secondFactor.registry.get(f.method)?.primary === true)
    const last = secondFactor.registry.get(target.method)?.primary === true && primaries.length === 1
    if (last && secondFactor.settings.policy === 'always') return await reply.code(303).redirect('/account/security?notice=last-factor')
    const now = new Date(clock())
    const method = secondFactor.registry.get(target.method)
    const removed = method !== undefined && await method.disable({ user, now }, target.id)
    // Recovery codes stand in for a lost factor: with none left they go too.
    const recovery = active.find(f => f.method === 'recovery_codes')
    if (removed && last && recovery !== undefined) await secondFactor.registry.get('recovery_codes')?.disable({ user, now }, recovery.id)
    if (removed) await storage.audit.record({ type: 'second_factor.removed', userId: user.id, ip: request.ip, detail: { method: target.method, factor: target.id } }, now)
    return await reply.code(303).redirect(`/account/security?notice=${removed ? 'removed' : 'missing'}`)
  })

  app.post('/account/security/recovery-codes', { config: PAGE_ROUTE, preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const recovery = secondFactor.registry.get('recovery_codes') as RecoveryCodesMethod | undefined
    if (recovery === undefined || !await secondFactor.enrolled(user.id)) return await reply.code(303).redirect('/account/security')
    if (!await proven(request, reply, user)) return
    const now = new Date(clock())
    const start = await recovery.enrol({ user, now })
    await storage.audit.record({ type: 'recovery_codes.generated', userId: user.id, ip: request.ip }, now)
    return await reply.view('recovery-codes', { csrfToken: reply.generateCsrf(), codes: start.display.codes as string[], next: '/account/security' })
  })

  // ---- password and sessions ----

  app.post('/account/security/password', {
    config: PAGE_ROUTE,
    schema: {
      body: {
        type: 'object',
        properties: { current: { type: 'string', maxLength: 1024 }, password: { type: 'string', maxLength: 1024 }, confirm: { type: 'string', maxLength: 1024 }, _csrf: { type: 'string' } }
      }
    },
    preHandler: app.requireCsrf
  }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const { current = '', password = '', confirm = '' } = request.body as { current?: string, password?: string, confirm?: string }
    const now = new Date(clock())
    // The error names the field it is about, so the page ties it to that field (aria-describedby).
    const again = async (error: string, status: number, field: 'current' | 'password' | 'confirm') =>
      await reply.code(status).view('password', { csrfToken: reply.generateCsrf(), error, errorField: field })
    // The current password, through sign-in's throttle: guessing it here counts as guessing at sign-in.
    const checked = await signIn.signIn(user.username, current, request.ip, now)
    if (!checked.ok) {
      return checked.reason === 'locked'
        ? await again(request.i18n.t('password.locked', { time: request.i18n.time(checked.retryAt) }), 429, 'current')
        : await again(request.i18n.t('password.wrong'), 401, 'current')
    }
    const problem = passwordProblem(password, user.username)
    if (problem !== undefined) return await again(request.i18n.t('password.rejected', { problem }), 400, 'password')
    if (password !== confirm) return await again(request.i18n.t('password.differ'), 400, 'confirm')
    await storage.accountSecurity.changePassword(user.id, await hashPassword(password), now, request.session.sessionId)
    // This session goes on under a new id; every other one has ended.
    await request.session.regenerate(['userId', 'signInAmr', 'signedInAt', 'secondFactor', 'binding', 'visitor', 'activation'])
    await storage.audit.record({ type: 'password.changed', userId: user.id, ip: request.ip }, now)
    return await reply.code(303).redirect('/account/security?notice=password')
  })

  app.get('/account/security/password', { config: PAGE_ROUTE }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    return await reply.view('password', { csrfToken: reply.generateCsrf() })
  })

  app.post('/account/security/sign-out-everywhere', { config: PAGE_ROUTE, preHandler: app.requireCsrf }, async (request, reply) => {
    const user = await signedIn(request, reply)
    if (user === null) return
    const ended = await storage.accountSecurity.endSessions(user.id)
    await request.session.destroy()
    await storage.audit.record({ type: 'sessions.ended', userId: user.id, ip: request.ip, detail: { sessions: ended } }, new Date(clock()))
    await events.emit('user.signed_out', { userId: user.id, ip: request.ip })
    return await reply.code(303).redirect('/login')
  })
}

/** After a method is added: the first one comes with recovery codes, shown once; then back where the person was going. */
export async function afterAddingFactor (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, user: UserRecord, now: Date) {
  const { secondFactor, storage } = app.codepair
  const recovery = secondFactor.registry.get('recovery_codes') as RecoveryCodesMethod | undefined
  const factors = await secondFactor.active(user.id)
  const next = nextAfterChange(request, 'added')
  if (recovery !== undefined && !factors.some(f => f.method === 'recovery_codes')) {
    const start = await recovery.enrol({ user, now })
    await storage.audit.record({ type: 'recovery_codes.generated', userId: user.id, ip: request.ip }, now)
    return await reply.view('recovery-codes', { csrfToken: reply.generateCsrf(), codes: start.display.codes as string[], next })
  }
  return await reply.code(303).redirect(next)
}

function nextAfterChange (request: FastifyRequest, notice: string): string {
  if (request.session.afterEnrol === 'activate' && request.session.activation !== undefined) {
    request.session.afterEnrol = undefined
    return '/activate/confirm'
  }
  return `/account/security?notice=${notice}`
}
