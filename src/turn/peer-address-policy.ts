import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Which peers the relay may talk to. Loopback, private, link-local, multicast,
 * unspecified and similar special ranges are refused (so the relay cannot reach the
 * shard's own services or its network) unless a configured range allows them.
 */
const DENIED_RANGES: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network", unspecified
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 128, 'ipv6'], // unspecified
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'], // NAT64
  ['fc00::', 7, 'ipv6'], // unique local
  ['fe80::', 10, 'ipv6'], // link-local
  ['ff00::', 8, 'ipv6'], // multicast
];

export class PeerAddressPolicy {
  private readonly denied = new BlockList();
  private readonly allowed = new BlockList();

  /** `allowedRanges`: CIDRs ("127.0.0.0/8", "::1/128") or single addresses. */
  constructor(allowedRanges: string[] = []) {
    for (const [network, prefix, family] of DENIED_RANGES) {
      this.denied.addSubnet(network, prefix, family);
    }
    for (const range of allowedRanges) {
      const [network, prefix] = range.split('/');
      const family = isIPv6(network) ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.allowed.addAddress(network, family);
      else this.allowed.addSubnet(network, Number(prefix), family);
    }
  }

  permits(address: string): boolean {
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!family) return false;
    if (this.allowed.check(address, family)) return true;
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) would sidestep the IPv4 rules: refused outright.
    // (Not a BlockList rule: BlockList also matches plain IPv4 addresses against it.)
    if (family === 'ipv6' && /^(0{0,4}:){0,5}:?ffff:/i.test(address)) return false;
    return !this.denied.check(address, family);
  }
}

/** True for "a.b.c.d/n", "x::y/n" or a single address. */
export function isAddressRange(range: string): boolean {
  const [network, prefix, extra] = range.split('/');
  if (extra !== undefined) return false;
  const max = isIPv4(network) ? 32 : isIPv6(network) ? 128 : -1;
  if (max < 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= max);
}
