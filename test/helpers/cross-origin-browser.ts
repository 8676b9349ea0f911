// A small browser over real HTTP (fetch) for flows that cross servers (codepair ↔ an
// upstream OpenID provider): cookies per origin, absolute URLs, redirects followed one at
// a time (so a test can stop at or tamper with any hop), and the CSRF token of the last
// form. http-browser.ts is the one-origin version; browser.ts goes through inject.

export interface HttpResponse {
  url: string
  status: number
  headers: Headers
  body: string
  location: string | undefined
}

export class CrossOriginBrowser {
  /** origin → cookie name → value (paths ignored: one flow at a time). */
  readonly cookies = new Map<string, Map<string, string>>()
  csrf = ''
  last: HttpResponse | undefined

  private jar (url: URL): Map<string, string> {
    let jar = this.cookies.get(url.origin)
    if (jar === undefined) this.cookies.set(url.origin, jar = new Map())
    return jar
  }

  private async request (url: string, init: RequestInit = {}): Promise<HttpResponse> {
    const u = new URL(url)
    const jar = this.jar(u)
    const headers = new Headers(init.headers)
    if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(u, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(60_000) })
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attrs.some(a => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && new Date(a.split('=')[1] ?? '').getTime() < Date.now()))
      if (expired || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    const body = await res.text()
    const location = res.headers.get('location') ?? undefined
    const m = /name="_csrf" value="([^"]*)"/.exec(body)
    if (m?.[1] !== undefined && m[1] !== '') this.csrf = m[1]
    this.last = { url: u.href, status: res.status, headers: res.headers, body, location: location === undefined ? undefined : new URL(location, u).href }
    return this.last
  }

  async get (url: string): Promise<HttpResponse> {
    return await this.request(url)
  }

  async post (url: string, fields: Record<string, string>, csrf: string | null = this.csrf): Promise<HttpResponse> {
    const body = new URLSearchParams(csrf === null ? fields : { ...fields, _csrf: csrf })
    return await this.request(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }

  /**
   * Follows redirects from the last response until a page that is not a redirect, or until
   * `stopAt` says so for the next URL. `rewrite` may change a URL before it is requested.
   */
  async follow (opts: { stopAt?: (next: URL) => boolean, rewrite?: (next: URL) => URL, max?: number } = {}): Promise<HttpResponse> {
    for (let i = 0; i < (opts.max ?? 20); i++) {
      const next = this.last?.location
      if (next === undefined || this.last === undefined || this.last.status < 300 || this.last.status >= 400) return this.last as HttpResponse
      let url = new URL(next)
      if (opts.stopAt?.(url) === true) return this.last
      if (opts.rewrite !== undefined) url = opts.rewrite(url)
      await this.get(url.href)
    }
    throw new Error('too many redirects')
  }
}
