// Address budgets count one IPv4 address or one IPv6 /64 (RFC 8628 §5.1 per-address limits).
import t from 'tap'
import { addressUnit } from '../../src/accounts/address.js'

t.test('IPv6 counts per /64, IPv4 per address', async t => {
  const cases: Array<[string, string]> = [
    ['192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4::/64'],
    ['not an address', 'not an address']
  ]
  for (const [ip, unit] of cases) t.equal(addressUnit(ip), unit, ip)
  t.not(addressUnit('2001:db8:1:2::1'), addressUnit('2001:db8:1:3::1'), 'neighbouring /64s are separate')
})
