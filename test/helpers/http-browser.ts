// A browser over real HTTP (fetch to a listening codepair): keeps cookies, reads the
// CSRF token from the last form, follows nothing by itself. `forwardedFor` sends
// X-Forwarded-For, which the server honours with TRUST_PROXY on.
import { form } from './oauth.js'

export interface PageResponse { status: number, location: string | null, body: string }

export class HttpBrowser {
  readonly cookies = new Map<string, string>()
  csrf = ''

  constructor (private readonly origin: string, private readonly forwardedFor?: string) {}

  private headers (extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra }
    if (this.cookies.size > 0) h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    if (this.forwardedFor !== undefined) h['x-forwarded-for'] = this.forwardedFor
    return h
  }

  private async remember (res: Response): Promise<PageResponse> {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const expired = attrs.some(a => /^\s*expires=/i.test(a) && new Date(a.split('=')[1] ?? '').getTime() < Date.now())
      if (expired) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1).trim())
    }
    const body = await res.text()
    const m = /name="_csrf" value="([^"]*)"/.exec(body)
    if (m?.[1] !== undefined && m[1] !== '') this.csrf = m[1]
    return { status: res.status, location: res.headers.get('location'), body }
  }

  async get (path: string): Promise<PageResponse> {
    return await this.remember(await fetch(`${this.origin}${path}`, { headers: this.headers(), redirect: 'manual' }))
  }

  async post (path: string, fields: Record<string, string>): Promise<PageResponse> {
    return await this.remember(await fetch(`${this.origin}${path}`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-www-form-urlencoded' }),
      body: form({ ...fields, _csrf: this.csrf }),
      redirect: 'manual'
    }))
  }

  async follow (res: PageResponse): Promise<PageResponse> {
    if (res.location === null) throw new Error(`not a redirect: ${res.status}`)
    return await this.get(res.location)
  }
}
