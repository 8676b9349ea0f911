import { NetworkError, OAuthProtocolError } from './errors.js'

export interface Http {
  fetch: typeof fetch
  timeoutMs: number
  /** Shown to the person on the confirmation page as "Device software". */
  userAgent: string
}

export interface FormResult { status: number, body: Record<string, any>, retryAfterSeconds: number | undefined }

/** POSTs a form and parses the JSON answer; throws NetworkError when there is no OAuth answer at all. */
export async function postForm (http: Http, url: string, form: Record<string, string | undefined>, headers: Record<string, string> = {}): Promise<FormResult> {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v)
  let res: Response
  try {
    res = await http.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': http.userAgent, ...headers },
      body,
      signal: AbortSignal.timeout(http.timeoutMs)
    })
  } catch (err) {
    throw new NetworkError(`cannot reach ${url}: ${(err as Error).message}`, { cause: err })
  }
  const text = await res.text().catch(() => '')
  let json: Record<string, any> = {}
  if (text !== '') {
    try {
      json = JSON.parse(text)
    } catch {
      if (res.status < 500) throw new NetworkError(`${url} answered ${res.status} with something that is not JSON`)
    }
  }
  const retry = res.headers.get('retry-after')
  return { status: res.status, body: json, retryAfterSeconds: retry === null || !/^\d+$/.test(retry) ? undefined : Number(retry) }
}

export function protocolError (r: FormResult): OAuthProtocolError {
  return new OAuthProtocolError(String(r.body.error ?? `http_${r.status}`), r.body.error_description, r.status, r.retryAfterSeconds)
}
