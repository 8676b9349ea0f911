import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

const STYLE = readFileSync(new URL('../../public/style.css', import.meta.url))

export default async function assetRoutes (app: FastifyInstance): Promise<void> {
  // One stylesheet, so no inline styles are needed under the CSP.
  app.get('/assets/style.css', async (_request, reply) => {
    return await reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLE)
  })
}
