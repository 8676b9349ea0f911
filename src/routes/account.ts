// "Your devices": a signed-in person sees every device connected to their account and
// disconnects any of them, which revokes its grant and refresh tokens at once
// (RFC-CHECKLIST "Tokens": revoked when the person revokes the device; RFC 9700 §4.14).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { describeScope, parseScope } from '../oauth/scopes.js'
import { PAGE_ROUTE } from '../plugins/pages.js'
import { formatWhen } from './activate.js'

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
      notice: q.disconnected === '1' ? 'The device was disconnected. It can no longer get new access to your account.' : undefined,
      accessTokenMinutes: Math.ceil(config.accessTokenTtlSeconds / 60),
      devices: devices.map(d => ({
        grantId: d.grantId,
        clientName: d.clientName,
        scopes: parseScope(d.scope).map(describeScope),
        approvedAt: formatWhen(d.approvedAt, now),
        lastActiveAt: formatWhen(d.lastActiveAt, now),
        requestIp: d.requestIp ?? 'unknown',
        userAgent: d.userAgent ?? 'unknown',
        staysConnected: d.staysConnected
      }))
    })
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
    preHandler: app.csrfProtection
  }, async (request, reply) => {
    const { userId } = request.session
    if (userId === undefined) return await signInFirst(request, reply)
    const { grant } = request.body as { grant: string }
    const now = new Date(clock())
    // Conditional on the owner: someone else's grant id changes nothing and says the same.
    const rec = await storage.devices.findById(grant)
    const disconnected = rec !== null && await events.emit('grant.revoked', { grantId: grant, clientId: rec.clientId, userId, reason: 'disconnected' },
      async outbox => await storage.connectedDevices.disconnect(grant, userId, now, outbox))
    if (!disconnected) {
      return await reply.code(404).view('message', {
        title: 'Device not found',
        message: 'That device is not connected to your account, or it was already disconnected.',
        csrfToken: reply.generateCsrf()
      })
    }
    await storage.audit.record({ type: 'device.disconnected', userId, ip: request.ip, detail: { grant } }, now)
    // Post/Redirect/Get: reloading the list never re-submits.
    return await reply.code(303).redirect('/account/devices?disconnected=1')
  })
}
