// Who may read /metrics: a list of addresses and CIDR ranges (METRICS_ALLOW), checked
// against the TCP peer of the connection, never against X-Forwarded-For, which anyone
// can write. Forwarding headers can only narrow access: a request that came through a
// proxy (on loopback, say) is served only if every address the headers name is allowed
// too, so a public proxy in front of codepair never opens /metrics to the internet.
import { BlockList, isIP } from 'node:net'

export interface AllowList {
  /** The list as given, normalised (for messages). */
  readonly entries: readonly string[]
  allows (address: string | undefined): boolean
}

/** Parses "127.0.0.0/8, ::1, 10.1.2.3"; throws with a message naming the bad entry. */
export function parseAllowList (text: string): AllowList {
  const entries = text.split(/[\s,]+/).filter(e => e !== '')
  if (entries.length === 0) throw new Error('give at least one address or CIDR range, e.g. 127.0.0.0/8,::1')
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || extra !== undefined) throw new Error(`"${entry}" is not an IP address or CIDR range such as 10.0.0.0/8 or fd00::/8`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    const max = family === 4 ? 32 : 128
    if (prefix === undefined) {
      list.addAddress(address, type)
      continue
    }
    const bits = Number(prefix)
    if (!/^\d+$/.test(prefix) || bits > max) throw new Error(`"${entry}": the prefix length must be 0 to ${max}`)
    list.addSubnet(address, bits, type)
  }
  return {
    entries,
    allows (address) {
      if (address === undefined) return false
      const family = isIP(address)
      // BlockList matches IPv4-mapped IPv6 peers (::ffff:127.0.0.1) against IPv4 ranges.
      return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
    }
  }
}

/** Every client address named by X-Forwarded-For, X-Real-IP and Forwarded (RFC 7239 for=). */
export function forwardedAddresses (headers: Record<string, string | string[] | undefined>): string[] {
  const values = (name: string): string[] => {
    const v = headers[name]
    return v === undefined ? [] : Array.isArray(v) ? v : [v]
  }
  const out: string[] = []
  for (const v of [...values('x-forwarded-for'), ...values('x-real-ip')]) out.push(...v.split(',').map(s => s.trim()))
  for (const v of values('forwarded')) {
    for (const m of v.matchAll(/for\s*=\s*("?)([^;,"]*)\1/gi)) {
      // for="[2001:db8::1]:4711" or for=192.0.2.60:8080 or for=unknown
      out.push((m[2] ?? '').replace(/^\[([^\]]*)\](:\d+)?$/, '$1').replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1'))
    }
  }
  return out
}

/** The socket peer must be allowed, and so must every forwarded address (an unparseable one never is). */
export function mayReadMetrics (allow: AllowList, socketAddress: string | undefined, headers: Record<string, string | string[] | undefined>): boolean {
  return allow.allows(socketAddress) && forwardedAddresses(headers).every(a => allow.allows(a))
}
