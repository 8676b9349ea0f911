import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sha256 } from '../../src/oauth/codes.js'
import { DEVICE_CODE_GRANT } from '../../src/oauth/grant-types.js'

export const form = (o: Record<string, string>) => new URLSearchParams(o).toString()
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

export async function postForm (app: FastifyInstance, url: string, body: Record<string, string> | string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: typeof body === 'string' ? body : form(body) })
}

export interface DeviceAuthorization {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

export async function startDeviceFlow (app: FastifyInstance, clientId: string, extra: Record<string, string> = {}): Promise<DeviceAuthorization> {
  const res = await postForm(app, '/oauth/device_authorization', { client_id: clientId, ...extra })
  if (res.statusCode !== 200) throw new Error(`device authorization failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function poll (app: FastifyInstance, clientId: string, deviceCode: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await postForm(app, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, client_id: clientId, device_code: deviceCode, ...extra })
}

export function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

/** Runs a device flow to the end, approving directly in storage (the pages have their own tests). */
export async function obtainTokens (
  app: FastifyInstance, clientId: string, userId: string, now: number, extra: Record<string, string> = {}, auth: Record<string, string> = {}
): Promise<Record<string, any>> {
  const flow = await startDeviceFlow(app, clientId, extra)
  const rec = await app.codepair.storage.devices.findByDeviceCodeHash(sha256(flow.device_code))
  if (rec === null || !await app.codepair.storage.devices.decide(rec.id, 'approved', userId, new Date(now))) throw new Error('could not approve')
  const res = await poll(app, clientId, flow.device_code, auth)
  if (res.statusCode !== 200) throw new Error(`token request failed: ${res.body}`)
  return res.json()
}

export async function refresh (app: FastifyInstance, clientId: string, refreshToken: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await postForm(app, '/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken, ...extra })
}
