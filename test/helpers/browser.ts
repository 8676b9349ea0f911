// A tiny browser over fastify.inject: keeps cookies, follows nothing by itself, and
// reads the CSRF token out of the last form it saw.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { form } from './oauth.js'

export class Browser {
  readonly cookies = new Map<string, string>()
  csrf = ''
  last: LightMyRequestResponse | undefined

  constructor (private readonly app: FastifyInstance, private readonly ip = '203.0.113.7') {}

  private remember (res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of res.cookies) {
      if (c.expires !== undefined && new Date(c.expires).getTime() < Date.now()) this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
    const m = /name="_csrf" value="([^"]*)"/.exec(res.body)
    if (m?.[1] !== undefined && m[1] !== '') this.csrf = m[1]
    this.last = res
    return res
  }

  private get cookieHeader (): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async get (url: string): Promise<LightMyRequestResponse> {
    return this.remember(await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader }, remoteAddress: this.ip }))
  }

  /** Posts a form with the current CSRF token unless `_csrf` is given (or null to leave it out). */
  async post (url: string, fields: Record<string, string>, csrf: string | null = this.csrf): Promise<LightMyRequestResponse> {
    const body = csrf === null ? fields : { ...fields, _csrf: csrf }
    return this.remember(await this.app.inject({
      method: 'POST',
      url,
      headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(body),
      remoteAddress: this.ip
    }))
  }

  /** Follows one redirect if the last response was one. */
  async follow (): Promise<LightMyRequestResponse> {
    const location = this.last?.headers.location
    if (typeof location !== 'string') throw new Error(`not a redirect: ${this.last?.statusCode}`)
    return await this.get(location)
  }

  async signIn (username: string, password: string): Promise<LightMyRequestResponse> {
    await this.get('/login')
    return await this.post('/login', { username, password })
  }

  /** Enter the code, sign in if asked, and land on the confirmation page. */
  async openConfirmation (userCode: string, username: string, password: string): Promise<LightMyRequestResponse> {
    await this.get(`/activate?user_code=${encodeURIComponent(userCode)}`)
    const entered = await this.post('/activate', { user_code: userCode })
    if (entered.statusCode !== 303) return entered // the code was refused: the page says why
    if (entered.headers.location === '/login') {
      await this.get('/login')
      const signed = await this.post('/login', { username, password })
      if (signed.statusCode !== 303) throw new Error(`sign-in failed: ${signed.statusCode}`)
    }
    return await this.get('/activate/confirm')
  }

  async decide (userCode: string, username: string, password: string, decision: 'approve' | 'deny'): Promise<LightMyRequestResponse> {
    const page = await this.openConfirmation(userCode, username, password)
    if (page.statusCode !== 200) throw new Error(`confirmation page failed: ${page.statusCode} ${page.body}`)
    const res = await this.post('/activate/confirm', { decision })
    // Post/Redirect/Get: the result is the page the redirect leads to.
    return res.statusCode === 303 ? await this.follow() : res
  }
}
