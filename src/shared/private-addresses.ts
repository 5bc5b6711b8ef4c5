import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Address ranges a repository URL may not reach unless `workspace.allow_private_addresses` says
 * so: the gateway's own machine, its pod network and cloud metadata services live there.
 */
const RANGES: readonly {
  readonly kind: string;
  readonly subnets: readonly (readonly [string, number, 'ipv4' | 'ipv6'])[];
}[] = [
  {
    kind: 'an unspecified ("this network") address',
    subnets: [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  },
  {
    kind: 'a loopback address',
    subnets: [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  },
  {
    kind: 'a private address (RFC 1918)',
    subnets: [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
    ],
  },
  { kind: 'a shared address (CGNAT, 100.64.0.0/10)', subnets: [['100.64.0.0', 10, 'ipv4']] },
  {
    kind: 'a link-local address',
    subnets: [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  },
  {
    kind: 'a multicast address',
    subnets: [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  },
  {
    kind: 'a reserved address',
    subnets: [
      ['240.0.0.0', 4, 'ipv4'],
      ['::', 96, 'ipv6'],
      ['fec0::', 10, 'ipv6'],
    ],
  },
  { kind: 'a unique local address (fc00::/7)', subnets: [['fc00::', 7, 'ipv6']] },
];

const LISTS = RANGES.map(({ kind, subnets }) => {
  const list = new BlockList();
  for (const [network, prefix, family] of subnets) list.addSubnet(network, prefix, family);
  return { kind, list };
});

/** The eight 16-bit groups of an IPv6 address (WHATWG's serialiser writes any embedded IPv4 part in hex). */
const groupsOf = (ipv6: string): number[] => {
  const [head = '', tail] = new URL(`http://[${ipv6}]/`).hostname.slice(1, -1).split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
};

/** The IPv4 address an IPv6 one stands for: IPv4-mapped `::ffff:a.b.c.d` or NAT64 `64:ff9b::a.b.c.d`. */
const embeddedIpv4 = (ipv6: string): string | undefined => {
  const groups = groupsOf(ipv6);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  if (!mapped && !nat64) return undefined;
  const [high, low] = [groups[6]!, groups[7]!];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
};

/**
 * What kind of address it is when a repository may not be fetched from it (loopback, private,
 * link-local, ...), undefined for a public one. Accepts `[v6]` as URLs write it.
 */
export const privateAddressKind = (address: string): string | undefined => {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return LISTS.find(({ list }) => list.check(bare, 'ipv4'))?.kind;
  if (!isIPv6(bare)) return undefined;
  const v4 = embeddedIpv4(bare);
  if (v4 !== undefined) return privateAddressKind(v4);
  return LISTS.find(({ list }) => list.check(bare, 'ipv6'))?.kind;
};
