// The scripts passkey pages load: @simplewebauthn/browser's bundle and our small
// public/passkey.js, both from our origin (CSP script-src 'self', no inline script).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'

// The package exports only its modules; its UMD bundle sits beside them.
const BUNDLE = readFileSync(join(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'))
const PASSKEY = readFileSync(new URL('../../public/passkey.js', import.meta.url))

export default async function webauthnAssetRoutes (app: FastifyInstance): Promise<void> {
  const script = 'text/javascript; charset=utf-8'
  app.get('/assets/simplewebauthn-browser.js', async (_request, reply) =>
    await reply.type(script).header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(BUNDLE))
  app.get('/assets/passkey.js', async (_request, reply) =>
    await reply.type(script).header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(PASSKEY))
}
