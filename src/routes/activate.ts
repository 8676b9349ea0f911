// The person's side of RFC 8628 (§3.3): enter the code, sign in, confirm, decide.
// Mistakes redraw the form with a message (node-oidc-provider's re_render_errors);
// a GET never changes the authorization; every POST carries a CSRF token.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { EventVetoedError } from '../events/types.js'
import { formatUserCode, normalizeUserCode, userCodeHmac } from '../oauth/codes.js'
import { describeScope, parseScope } from '../oauth/scopes.js'
import type { DeviceAuthorizationRecord } from '../oauth/stores.js'
import { PAGE_ROUTE } from '../plugins/pages.js'

export function formatWhen (d: Date, now: number): string {
  const minutes = Math.max(0, Math.round((now - d.getTime()) / 60000))
  const hours = Math.round(minutes / 60)
  const days = Math.round(minutes / 1440)
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`
  const ago = minutes === 0 ? 'just now' : minutes < 60 ? plural(minutes, 'minute') : hours < 48 ? plural(hours, 'hour') : plural(days, 'day')
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC (${ago})`
}

export function formatRetry (d: Date): string {
  return `${d.toISOString().slice(11, 16)} UTC`
}

export default async function activateRoutes (app: FastifyInstance): Promise<void> {
  const { config, secrets, storage, userCodeGuard, clock, events } = app.codepair
  const codeLength = config.userCodeLength

  function renderEntry (reply: FastifyReply, userCode: string, error?: string, status = 200) {
    return reply.code(status).view('activate', { userCode, error, codeLength, csrfToken: reply.generateCsrf() })
  }

  function renderMessage (reply: FastifyReply, title: string, message: string, status = 200) {
    return reply.code(status).view('message', { title, message, csrfToken: reply.generateCsrf() })
  }

  /** Why a code can no longer be decided, in words for the person; null when it still can. */
  function closedReason (rec: DeviceAuthorizationRecord): string | null {
    if (rec.status === 'approved' || rec.status === 'consumed') return 'This code has already been approved. You can return to your device.'
    if (rec.status === 'denied') return 'This request was denied. If that was a mistake, start again on your device to get a new code.'
    if (rec.expiresAt.getTime() <= clock()) return 'This code has expired. Start again on your device to get a new code.'
    return null
  }

  // §3.3.1: arriving by verification_uri_complete pre-fills the code; the person
  // still confirms it, so a link alone never grants anything.
  app.get('/activate', { config: PAGE_ROUTE }, async (request, reply) => {
    const q = (request.query ?? {}) as Record<string, unknown>
    const raw = typeof q.user_code === 'string' ? q.user_code : ''
    const normalized = normalizeUserCode(raw).slice(0, codeLength)
    return await renderEntry(reply, normalized === '' ? '' : formatUserCode(normalized))
  })

  app.post('/activate', {
    config: PAGE_ROUTE,
    schema: { body: { type: 'object', properties: { user_code: { type: 'string', maxLength: 200 }, _csrf: { type: 'string' } } } },
    preHandler: app.csrfProtection
  }, async (request, reply) => {
    const body = request.body as { user_code?: string }
    const entered = body.user_code ?? ''
    const session = request.session
    // Derived from the session id, not random: parallel first posts of one session
    // must share one per-session budget (it is kept across the sign-in regeneration).
    session.visitor ??= createHash('sha256').update(session.sessionId).digest('base64url').slice(0, 22)
    const visitor = { ip: request.ip, session: session.visitor }
    const now = new Date(clock())

    const reservation = await userCodeGuard.reserve(visitor, now)
    if (!reservation.ok) {
      return await renderEntry(reply, entered, `Too many incorrect codes. For your security, code entry is paused until ${formatRetry(reservation.until)}.`, 429)
    }

    const code = normalizeUserCode(entered)
    const rec = code.length === codeLength
      ? await storage.devices.findByUserCodeHash(userCodeHmac(secrets.userCodeKey, code))
      : null
    if (rec === null) {
      // §5.1: malformed entries count against the budget too (the attempt stays taken).
      // This wrong code used up a budget: report it once, not on every refusal after it.
      if (reservation.spent !== null) await events.emit('user_code.guessing_limited', { ip: request.ip, until: reservation.spent.toISOString() })
      const hint = code.length === codeLength
        ? 'That code was not recognised. Check the code on your device and try again.'
        : `Codes have ${codeLength} letters, like ${formatUserCode('BCDFGHJKLMNPQRST'.slice(0, codeLength))}. Check the code on your device and try again.`
      return await renderEntry(reply, entered, hint, 400)
    }
    // A code that exists is not a guess against the bound: give the attempt back.
    await reservation.release()
    const closed = closedReason(rec)
    if (closed !== null) return await renderMessage(reply, 'This code cannot be used', closed, 410)

    session.activation = { id: rec.id, userCode: formatUserCode(code) }
    return await reply.code(303).redirect(session.userId === undefined ? '/login' : '/activate/confirm')
  })

  app.get('/activate/confirm', { config: PAGE_ROUTE }, async (request, reply) => {
    const { activation, userId } = request.session
    if (activation === undefined) return await reply.code(303).redirect('/activate')
    if (userId === undefined) return await reply.code(303).redirect('/login')
    const rec = await storage.devices.findById(activation.id)
    if (rec === null) return await renderMessage(reply, 'This code cannot be used', 'This code has expired. Start again on your device to get a new code.', 410)
    const closed = closedReason(rec)
    if (closed !== null) return await renderMessage(reply, 'This code cannot be used', closed, 410)
    const [client, user] = await Promise.all([storage.clients.findClient(rec.clientId), storage.users.findUserById(userId)])
    return await reply.view('confirm', {
      csrfToken: reply.generateCsrf(),
      userCode: activation.userCode,
      clientName: client?.name ?? rec.clientId,
      scopes: parseScope(rec.scope).map(s => ({ name: s, text: describeScope(s) })),
      requestedAt: formatWhen(rec.createdAt, clock()),
      requestIp: rec.requestIp ?? 'unknown',
      userAgent: rec.userAgent ?? 'unknown',
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
    preHandler: app.csrfProtection
  }, async (request, reply) => {
    const { decision } = request.body as { decision: 'approve' | 'deny' }
    const session = request.session
    const { activation, userId } = session
    if (activation === undefined) {
      // Back button after a decision: the activation is gone, nothing changes.
      return await renderMessage(reply, 'Nothing to confirm', 'This request has already been handled. If you need to connect a device, start again on the device.', 409)
    }
    if (userId === undefined) return await reply.code(303).redirect('/login')
    const user = await storage.users.findUserById(userId)
    if (user === null || !user.enabled) {
      await session.destroy()
      return await renderMessage(reply, 'Signed out', 'Your account can no longer approve devices.', 403)
    }
    const now = new Date(clock())
    const rec = await storage.devices.findById(activation.id)
    // §5.5: decided once. The conditional update lets exactly one of approve/deny win.
    let won = false
    try {
      won = rec !== null && await events.emit(decision === 'approve' ? 'device.approved' : 'device.denied',
        { grantId: rec.id, clientId: rec.clientId, scope: rec.scope, resource: rec.resource, userId, ip: request.ip },
        async outbox => await storage.devices.decide(activation.id, decision === 'approve' ? 'approved' : 'denied', userId, now, outbox))
    } catch (err) {
      if (!(err instanceof EventVetoedError)) throw err
      // A hook refused the approval: the code stays undecided, so the person may deny it or try later.
      return await renderMessage(reply, 'This device cannot be connected', err.reason, 403)
    }
    session.activation = undefined
    if (!won) {
      const latest = await storage.devices.findById(activation.id)
      const reason = latest === null ? 'This code has expired.' : closedReason(latest) ?? 'This request was already handled.'
      return await renderMessage(reply, 'This code cannot be used', reason, 409)
    }
    await storage.audit.record({ type: decision === 'approve' ? 'device.approved' : 'device.denied', userId, ip: request.ip, detail: { authorization: activation.id } }, now)
    // Post/Redirect/Get: Back and reload from the result never re-submit the decision.
    session.decided = decision
    return await reply.code(303).redirect('/activate/done')
  })

  app.get('/activate/done', { config: PAGE_ROUTE }, async (request, reply) => {
    const { decided } = request.session
    if (decided === undefined) return await reply.code(303).redirect('/activate')
    return decided === 'approve'
      ? await renderMessage(reply, 'Device connected', 'You can return to your device. It will finish signing in within a few seconds.')
      : await renderMessage(reply, 'Request denied', 'The device was not given access. You can return to your device.')
  })
}

