// The person's side of RFC 8628 (§3.3): enter the code, sign in, confirm, decide.
// Mistakes redraw the form with a message (node-oidc-provider's re_render_errors);
// a GET never changes the authorization; every POST carries a CSRF token.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authenticationOf, freshProof } from '../accounts/step-up.js'
import { EventVetoedError } from '../events/types.js'
import { formatUserCode, normalizeUserCode, userCodeHmac } from '../oauth/codes.js'
import type { PageText } from '../i18n/page-text.js'
import { parseScope } from '../oauth/scopes.js'
import type { DeviceAuthorizationRecord } from '../oauth/stores.js'
import { PAGE_ROUTE } from '../plugins/pages.js'

export default async function activateRoutes (app: FastifyInstance): Promise<void> {
  const { config, secrets, storage, userCodeGuard, clock, events, secondFactor } = app.codepair
  const codeLength = config.userCodeLength

  function renderEntry (reply: FastifyReply, userCode: string, error?: string, status = 200) {
    return reply.code(status).view('activate', { userCode, error, codeLength, csrfToken: reply.generateCsrf() })
  }

  function renderMessage (reply: FastifyReply, title: string, message: string, status = 200) {
    return reply.code(status).view('message', { title, message, csrfToken: reply.generateCsrf() })
  }

  /** Anonymous code entry is paused: the person signs in, then comes back with the code filled in. */
  function renderSignInFirst (session: FastifyRequest['session'], reply: FastifyReply, userCode: string, status = 200) {
    session.returnTo = 'activate'
    session.pendingCode = userCode === '' ? undefined : userCode
    return reply.code(status).view('sign-in-first', { userCode, csrfToken: reply.generateCsrf() })
  }

  /** Why a code can no longer be decided, in words for the person; null when it still can. */
  function closedReason ({ t }: PageText, rec: DeviceAuthorizationRecord): string | null {
    if (rec.status === 'approved' || rec.status === 'consumed') return t('closed.approved')
    if (rec.status === 'denied') return t('closed.denied')
    if (rec.expiresAt.getTime() <= clock()) return t('closed.expired')
    return null
  }

  function renderClosed (request: FastifyRequest, reply: FastifyReply, reason: string, status: number) {
    return renderMessage(reply, request.i18n.t('closed.title'), reason, status)
  }

  // §3.3.1: arriving by verification_uri_complete pre-fills the code; the person
  // still confirms it, so a link alone never grants anything.
  app.get('/activate', { config: PAGE_ROUTE }, async (request, reply) => {
    const q = (request.query ?? {}) as Record<string, unknown>
    const { session } = request
    const raw = typeof q.user_code === 'string' ? q.user_code : session.pendingCode ?? ''
    if (session.pendingCode !== undefined) session.pendingCode = undefined
    const normalized = normalizeUserCode(raw).slice(0, codeLength)
    const shown = normalized === '' ? '' : formatUserCode(normalized)
    // §5.1: while the anonymous budget is spent, say so before anyone types a code.
    if (session.userId === undefined && await userCodeGuard.anonymousPaused(new Date(clock()))) return await renderSignInFirst(request.session, reply, shown)
    return await renderEntry(reply, shown)
  })

  app.post('/activate', {
    config: PAGE_ROUTE,
    schema: { body: { type: 'object', properties: { user_code: { type: 'string', maxLength: 200 }, _csrf: { type: 'string' } } } },
    preHandler: app.requireCsrf
  }, async (request, reply) => {
    const body = request.body as { user_code?: string }
    const entered = body.user_code ?? ''
    const session = request.session
    // Derived from the session id, not random: parallel first posts of one session
    // must share one per-session budget (it is kept across the sign-in regeneration).
    session.visitor ??= createHash('sha256').update(session.sessionId).digest('base64url').slice(0, 22)
    const visitor = { ip: request.ip, session: session.visitor, userId: session.userId }
    const now = new Date(clock())
    const text = request.i18n

    const reservation = await userCodeGuard.reserve(visitor, now)
    if (!reservation.ok) {
      app.codepair.metrics?.guessRefused()
      if (reservation.budget === 'anonymous') {
        // The anonymous budget is spent, perhaps by someone guessing from many addresses:
        // signed-in people keep going on their own account's budget.
        const normalized = normalizeUserCode(entered).slice(0, codeLength)
        return await renderSignInFirst(session, reply, normalized === '' ? '' : formatUserCode(normalized), 429)
      }
      const time = text.time(reservation.until)
      // Literal keys, so the catalogue test sees each one.
      const message = reservation.budget === 'account'
        ? text.t('activate.tooManyTriesAccount', { time })
        : reservation.budget === 'signedIn' ? text.t('activate.pausedForEveryone', { time }) : text.t('activate.tooManyTries', { time })
      return await renderEntry(reply, entered, message, 429)
    }

    const code = normalizeUserCode(entered)
    let rec
    try {
      rec = code.length === codeLength ? await storage.devices.findByUserCodeHash(userCodeHmac(secrets.userCodeKey, code)) : null
    } catch (err) {
      // No verdict (the lookup failed, the person sees 503): the attempt goes back.
      await reservation.release().catch(() => {})
      throw err
    }
    if (rec === null) {
      // §5.1: malformed entries count against the budget too (the attempt stays taken).
      // This wrong code used up a budget: report it once, not on every refusal after it.
      if (reservation.spent !== null) await events.emit('user_code.guessing_limited', { ip: request.ip, until: reservation.spent.toISOString() })
      const hint = code.length === codeLength
        ? text.t('activate.notRecognised')
        : text.t('activate.wrongShape', { length: codeLength, example: formatUserCode('BCDFGHJKLMNPQRST'.slice(0, codeLength)) })
      return await renderEntry(reply, entered, hint, 400)
    }
    // A code that exists is not a guess against the bound: give the attempt back.
    await reservation.release()
    const closed = closedReason(text, rec)
    if (closed !== null) return await renderClosed(request, reply, closed, 410)

    session.activation = { id: rec.id, userCode: formatUserCode(code) }
    return await reply.code(303).redirect(session.userId === undefined ? '/login' : '/activate/confirm')
  })

  /**
   * Approving needs a second factor when the policy (or the client) asks for one: a fresh
   * proof in this session (step-up), or setting one up first. Returns the page to go to
   * first, or null when the person may approve now.
   */
  async function secondFactorFirst (request: FastifyRequest, userId: string, clientId: string): Promise<string | null> {
    const need = await secondFactor.approvalNeeds(userId, await storage.clientPolicies.requiresSecondFactor(clientId))
    if (need === 'enrol') {
      request.session.afterEnrol = 'activate'
      return '/account/security?notice=required'
    }
    if (need === 'proof' && freshProof(request.session, clock(), secondFactor.settings.stepUpMaxAgeSeconds) === null) {
      request.session.stepUp = 'activate'
      return '/account/verify'
    }
    return null
  }

  app.get('/activate/confirm', { config: PAGE_ROUTE }, async (request, reply) => {
    const { activation, userId } = request.session
    if (activation === undefined) return await reply.code(303).redirect('/activate')
    if (userId === undefined) return await reply.code(303).redirect('/login')
    const text = request.i18n
    const rec = await storage.devices.findById(activation.id)
    if (rec === null) return await renderClosed(request, reply, text.t('closed.expired'), 410)
    const closed = closedReason(text, rec)
    if (closed !== null) return await renderClosed(request, reply, closed, 410)
    const first = await secondFactorFirst(request, userId, rec.clientId)
    if (first !== null) return await reply.code(303).redirect(first)
    const [client, user] = await Promise.all([storage.clients.findClient(rec.clientId), storage.users.findUserById(userId)])
    return await reply.view('confirm', {
      csrfToken: reply.generateCsrf(),
      userCode: activation.userCode,
      clientName: client?.name ?? rec.clientId,
      scopes: parseScope(rec.scope).map(s => ({ name: s, text: text.scope(s) })),
      requestedAt: text.when(rec.createdAt, clock()),
      requestIp: rec.requestIp ?? text.t('common.unknown'),
      userAgent: rec.userAgent ?? text.t('common.unknown'),
      username: user?.username ?? ''
    })
  })

  app.post('/activate/confirm', {
    config: PAGE_ROUTE,
    schema: {
      body: {
        type: 'object',
        properties: { decision: { type: 'string', enum: ['approve', 'deny'] }, _csrf: { type: 'string' } },
        required: ['decision']
      }
    },
    preHandler: app.requireCsrf
  }, async (request, reply) => {
    const { decision } = request.body as { decision: 'approve' | 'deny' }
    const text = request.i18n
    const session = request.session
    const { activation, userId } = session
    if (activation === undefined) {
      // Back button after a decision: the activation is gone, nothing changes.
      return await renderMessage(reply, text.t('decision.nothingTitle'), text.t('decision.nothingBody'), 409)
    }
    if (userId === undefined) return await reply.code(303).redirect('/login')
    const user = await storage.users.findUserById(userId)
    if (user === null || !user.enabled) {
      await session.destroy()
      return await renderMessage(reply, text.t('decision.signedOutTitle'), text.t('decision.signedOutBody'), 403)
    }
    const now = new Date(clock())
    const rec = await storage.devices.findById(activation.id)
    if (decision === 'approve' && rec !== null) {
      // The proof may have aged while the page was open: step up again, then come back.
      const first = await secondFactorFirst(request, userId, rec.clientId)
      if (first !== null) return await reply.code(303).redirect(first)
    }
    // The approval records how the person authenticated (ID token amr and acr).
    const authentication = decision === 'approve'
      ? { ...authenticationOf(session, now.getTime(), secondFactor.settings.stepUpMaxAgeSeconds), at: new Date(session.secondFactor?.at ?? session.signedInAt ?? now.getTime()) }
      : undefined
    // §5.5: decided once. The conditional update lets exactly one of approve/deny win.
    let won = false
    try {
      won = rec !== null && await events.emit(decision === 'approve' ? 'device.approved' : 'device.denied',
        { grantId: rec.id, clientId: rec.clientId, scope: rec.scope, resource: rec.resource, userId, ip: request.ip },
        async outbox => await storage.devices.decide(activation.id, decision === 'approve' ? 'approved' : 'denied', userId, now, outbox, authentication))
    } catch (err) {
      if (!(err instanceof EventVetoedError)) throw err
      // A hook refused the approval: the code stays undecided, so the person may deny it or try later.
      return await renderMessage(reply, text.t('decision.vetoedTitle'), err.reason, 403)
    }
    session.activation = undefined
    if (!won) {
      const latest = await storage.devices.findById(activation.id)
      const reason = latest === null ? text.t('closed.expired') : closedReason(text, latest) ?? text.t('closed.handled')
      return await renderClosed(request, reply, reason, 409)
    }
    await storage.audit.record({ type: decision === 'approve' ? 'device.approved' : 'device.denied', userId, ip: request.ip, detail: { authorization: activation.id, ...(authentication === undefined ? {} : { amr: authentication.amr }) } }, now)
    // Post/Redirect/Get: Back and reload from the result never re-submit the decision.
    session.decided = decision
    return await reply.code(303).redirect('/activate/done')
  })

  app.get('/activate/done', { config: PAGE_ROUTE }, async (request, reply) => {
    const { decided } = request.session
    const { t } = request.i18n
    if (decided === undefined) return await reply.code(303).redirect('/activate')
    return decided === 'approve'
      ? await renderMessage(reply, t('decision.approvedTitle'), t('decision.approvedBody'))
      : await renderMessage(reply, t('decision.deniedTitle'), t('decision.deniedBody'))
  })
}

