import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { readLogo } from '../branding/logo.js'

const STYLE = readFileSync(new URL('../../public/style.css', import.meta.url))

/** The operator's accent as CSS custom properties (public/style.css uses them), never inline: the CSP allows only 'self' styles. */
export function brandCss (accent: { color: string, darkText: string } | undefined): string {
  if (accent === undefined) return '/* no BRAND_ACCENT_COLOR: the colours of style.css */\n'
  return `:root { --accent: ${accent.color}; --accent-text: ${accent.color}; }\n` +
    `@media (prefers-color-scheme: dark) { :root { --accent-text: ${accent.darkText}; } }\n`
}

export default async function assetRoutes (app: FastifyInstance): Promise<void> {
  const { brand } = app.codepair.config
  // One stylesheet, so no inline styles are needed under the CSP.
  app.get('/assets/style.css', async (_request, reply) => {
    return await reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLE)
  })

  const css = brandCss(brand.accent)
  app.get('/assets/brand.css', async (_request, reply) => {
    return await reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(css)
  })

  if (brand.logo !== undefined) {
    // Read again here (config only checked it): the bytes stay out of the frozen Config.
    const logo = readLogo(brand.logo.file)
    app.get('/assets/logo', async (_request, reply) => {
      reply.header('x-content-type-options', 'nosniff').header('cache-control', 'public, max-age=3600')
      // An SVG opened on its own is a document: it may run nothing and load nothing.
      if (logo.contentType === 'image/svg+xml') reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
      return await reply.type(logo.contentType).send(logo.bytes)
    })
  }
}
