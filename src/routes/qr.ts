// QR codes of verification_uri_complete for devices that cannot draw one (RFC 8628 §3.3.1).
// The URL names the authorization by its random id and repeats the user code, which
// must match: neither alone finds a live code, so this is no guessing oracle.
import type { FastifyInstance } from 'fastify'
import QRCode from 'qrcode'
import { formatUserCode, normalizeUserCode, safeEqual, userCodeHmac } from '../oauth/codes.js'

export default async function qrRoutes (app: FastifyInstance): Promise<void> {
  const { config, secrets, storage, clock } = app.codepair
  app.get('/qr/:file', {
    schema: {
      params: { type: 'object', properties: { file: { type: 'string', pattern: '^[0-9a-f-]{36}\\.(svg|png)$' } }, required: ['file'] },
      querystring: { type: 'object', properties: { user_code: { type: 'string', maxLength: 64 } }, required: ['user_code'] }
    }
  }, async (request, reply) => {
    const { file } = request.params as { file: string }
    const [id, ext] = file.split('.') as [string, 'svg' | 'png']
    const code = normalizeUserCode((request.query as { user_code: string }).user_code)
    const rec = await storage.devices.findById(id)
    const live = rec !== null && rec.status === 'pending' && rec.expiresAt.getTime() > clock() &&
      safeEqual(userCodeHmac(secrets.userCodeKey, code), rec.userCodeHash)
    if (!live) return await reply.code(404).send({ error: 'not_found', error_description: 'no live code here' })
    const uri = `${config.issuer}/activate?user_code=${encodeURIComponent(formatUserCode(code))}`
    reply.header('cache-control', 'no-store')
    if (ext === 'png') return await reply.type('image/png').send(await QRCode.toBuffer(uri, { type: 'png', width: 512, margin: 2, errorCorrectionLevel: 'M' }))
    return await reply.type('image/svg+xml').send(await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' }))
  })
}
