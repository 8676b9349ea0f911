// "Your devices": a signed-in person sees every device connected to their account and
// disconnects any of them, which revokes its grant and refresh tokens at once
// (RFC-CHECKLIST "Tokens": revoked when the person revokes the device; RFC 9700 §4.14).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { PageText } from '../i18n/page-text.js'
import { parseScope } from '../oauth/scopes.js'
import type { ConnectedDevice } from '../oauth/stores.js'
import { PAGE_ROUTE } from '../plugins/pages.js'

function notice ({ t }: PageText, which: unknown): string | undefined {
  if (which === 'disconnected') return t('devices.noticeDisconnected')
  if (which === 'missing') return t('devices.noticeMissing')
  return undefined
}

export default async function accountRoutes (app: FastifyInstance): Promise<void> {
  const { config, storage, clock, events } = app.codepair
  const accessTokenTtlMs = config.accessTokenTtlSeconds * 1000

  /** Sign in first, then come back to the list (a fixed target, never a URL from the request). */
  async function signInFirst (request: FastifyRequest, reply: FastifyReply) {
    request.session.returnTo = 'devices'
    return await reply.code(303).redirect('/login')
  }

  app.get('/account/devices', { config: PAGE_ROUTE }, async (request, reply) => {
    const { userId } = request.session
    if (userId === undefined) return await signInFirst(request, reply)
    const now = clock()
    const [user, devices] = await Promise.all([
      storage.users.findUserById(userId),
      storage.connectedDevices.listConnected(userId, new Date(now), accessTokenTtlMs)
    ])
    if (user === null || !user.enabled) {
      await request.session.destroy()
      return await reply.code(303).redirect('/login')
    }
    const q = (request.query ?? {}) as Record<string, unknown>
    return await reply.view('devices', {
      csrfToken: reply.generateCsrf(),
      username: user.username,
      notice: notice(request.i18n, q.notice),
      accessTokenDuration: request.i18n.minutes(Math.ceil(config.accessTokenTtlSeconds / 60)),
      devices: devices.map(d => describe(request.i18n, d, now))
    })
  })

  /** In words a person reads on a phone. */
  function describe (text: PageText, d: ConnectedDevice, now: number) {
    const { t } = text
    const minutesLeft = Math.max(1, Math.ceil((d.lastActiveAt.getTime() + accessTokenTtlMs - now) / 60000))
    return {
      grantId: d.grantId,
      clientName: d.clientName,
      scopes: parseScope(d.scope).map(text.scope),
      approvedAt: text.when(d.approvedAt, now),
      lastActiveAt: d.waiting ? t('devices.notYet') : text.when(d.lastActiveAt, now),
      requestIp: d.requestIp ?? t('common.unknown'),
      userAgent: d.userAgent ?? t('common.unknown'),
      waiting: d.waiting,
      access: d.waiting
        ? t('devices.accessWaiting')
        : d.staysConnected
          ? t('devices.accessUntilDisconnected')
          : t('devices.accessEnds', { duration: text.minutes(minutesLeft) })
    }
  }

  // Disconnecting asks first: the list's button leads here (a GET that changes nothing).
  app.get('/account/devices/disconnect', { config: PAGE_ROUTE }, async (request, reply) => {
    const { userId } = request.session
    if (userId === undefined) return await signInFirst(request, reply)
    const grant = String(((request.query ?? {}) as Record<string, unknown>).grant ?? '')
    const now = clock()
    const device = (await storage.connectedDevices.listConnected(userId, new Date(now), accessTokenTtlMs)).find(d => d.grantId === grant)
    if (device === undefined) return await reply.code(303).redirect('/account/devices?notice=missing')
    return await reply.view('disconnect', { csrfToken: reply.generateCsrf(), device: describe(request.i18n, device, now) })
  })

  app.post('/account/devices/disconnect', {
    config: PAGE_ROUTE,
    schema: {
      body: {
        type: 'object',
        properties: { grant: { type: 'string', minLength: 1, maxLength: 100 }, _csrf: { type: 'string' } },
        required: ['grant']
      }
    },
    preHandler: app.requireCsrf
  }, async (request, reply) => {
    const { userId } = request.session
    if (userId === undefined) return await signInFirst(request, reply)
    const { grant } = request.body as { grant: string }
    const now = new Date(clock())
    // Conditional on the owner: someone else's grant id changes nothing and says the same.
    // Post/Redirect/Get, whatever happened: reloading or going back never re-submits.
    const rec = await storage.devices.findById(grant)
    const disconnected = rec !== null && await events.emit('grant.revoked', { grantId: grant, clientId: rec.clientId, userId, reason: 'disconnected' },
      async outbox => await storage.connectedDevices.disconnect(grant, userId, now, outbox))
    if (!disconnected) return await reply.code(303).redirect('/account/devices?notice=missing')
    await storage.audit.record({ type: 'device.disconnected', userId, ip: request.ip, detail: { grant } }, now)
    return await reply.code(303).redirect('/account/devices?notice=disconnected')
  })
}
