// The unit an address budget counts: one IPv4 address, or one IPv6 /64. A /64 is what
// one subscriber or one LAN gets (RFC 6177 §2, RFC 7421); rotating addresses inside it
// costs nothing, so counting per address would multiply an IPv6 attacker's budget by
// 2^64. The same unit @fastify/rate-limit uses for the device authorization endpoint.
import { isIPv4, isIPv6 } from 'node:net'

/** "2001:db8:1:2::/64" for any address in that /64; IPv4 (and IPv4-mapped IPv6) as is. */
export function addressUnit (ip: string): string {
  const bare = ip.replace(/%.*$/, '') // zone index (fe80::1%eth0)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (mapped?.[1] !== undefined) return mapped[1]
  if (!isIPv6(bare)) return isIPv4(bare) ? bare : ip
  return `${ipv6Groups(bare).slice(0, 4).map(g => g.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address, "::" and a dotted IPv4 tail expanded. */
function ipv6Groups (ip: string): number[] {
  let text = ip
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (s: string) => s === '' ? [] : s.split(':').map(h => parseInt(h, 16))
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
