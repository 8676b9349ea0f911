// Every route the app registers, as buildApp's onRoute option reports it: a route added
// tomorrow is fuzzed without anyone listing it here.
import type { RouteOptions } from 'fastify'

export interface FuzzRoute {
  url: string
  methods: string[]
  /** From the route's config: 'page' routes promise an HTML page, 'oauth' routes RFC 6749 §5.2 JSON. */
  errorFormat: 'page' | 'oauth' | undefined
  /** Parameter names from the route's body and query schemas. */
  params: string[]
  /** `:name` segments of the url. */
  pathParams: string[]
  /** Protected by a bearer token (found by probing: 401 with a Bearer challenge and no credentials). */
  bearer: boolean
}

function schemaProperties (schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties
  return props === undefined ? [] : Object.keys(props)
}

export class RouteCollector {
  private readonly byUrl = new Map<string, FuzzRoute>()

  readonly onRoute = (route: RouteOptions): void => {
    const url = route.url
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String)
    const config = route.config as { errorFormat?: 'page' | 'oauth' } | undefined
    const existing = this.byUrl.get(url)
    const params = [...schemaProperties(route.schema?.body), ...schemaProperties(route.schema?.querystring)]
    if (existing === undefined) {
      this.byUrl.set(url, {
        url,
        methods,
        errorFormat: config?.errorFormat,
        params,
        pathParams: [...url.matchAll(/:(\w+)/g)].map(m => m[1] ?? ''),
        bearer: false
      })
      return
    }
    existing.methods = [...new Set([...existing.methods, ...methods])]
    existing.params = [...new Set([...existing.params, ...params])]
    // A url whose methods disagree keeps the format of its POST (the one with a body).
    if (methods.includes('POST') && config?.errorFormat !== undefined) existing.errorFormat = config.errorFormat
  }

  routes (): FuzzRoute[] {
    return [...this.byUrl.values()]
      .map(r => ({ ...r, methods: r.methods.includes('GET') && !r.methods.includes('HEAD') ? [...r.methods, 'HEAD'] : r.methods }))
      .sort((a, b) => a.url.localeCompare(b.url))
  }
}
