// Pages that run our own scripts (passkeys) get CSP script-src 'self'; every other page
// keeps the pages plugin's policy, which allows no script at all. Still no inline script.
import type { FastifyReply } from 'fastify'

export function allowOwnScripts (reply: FastifyReply): void {
  const csp = String(reply.getHeader('content-security-policy') ?? '')
  if (!csp.includes('script-src')) reply.header('content-security-policy', `${csp};script-src 'self'`)
}
