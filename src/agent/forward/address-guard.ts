// Addresses a forward never dials, even when the cluster lists them: the API
// server refuses loopback and link-local addresses in EndpointSlices, but a
// pod's status.podIP takes any address (whoever may patch pods/status sets
// it), and a slice may name the API server's Service address. Without this a
// user could reach the cloud's metadata service, the agent's own loopback
// ports or the API server with the agent's network position. Pure: the API
// server's endpoints are passed in.
import { BlockList, isIP } from 'node:net';
import type { Endpoint } from './endpoints.ts';

/** Why an endpoint is refused; a closed set, for the metric's label. */
export type AddressRefusal = 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'api-server';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4'); // cloud metadata (169.254.169.254) and link-local
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');
LINK_LOCAL.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
const UNSPECIFIED = new BlockList();
UNSPECIFIED.addAddress('0.0.0.0', 'ipv4');
UNSPECIFIED.addSubnet('0.0.0.0', 8, 'ipv4');
UNSPECIFIED.addAddress('::', 'ipv6');
UNSPECIFIED.addAddress('255.255.255.255', 'ipv4');
const MULTICAST = new BlockList();
MULTICAST.addSubnet('224.0.0.0', 4, 'ipv4');
MULTICAST.addSubnet('ff00::', 8, 'ipv6');

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** The address with an IPv4-mapped IPv6 form (::ffff:a.b.c.d) read as IPv4. */
function canonical(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}

/** Why the agent must not dial `endpoint`, or undefined when it may; `apiServers` are the API server's own endpoints. */
export function addressRefusal(endpoint: Endpoint, apiServers: readonly Endpoint[]): AddressRefusal | undefined {
  const address = canonical(endpoint.address);
  if (isIP(address) === 0) return 'unspecified';
  const kind = family(address);
  if (LOOPBACK.check(address, kind)) return 'loopback';
  if (LINK_LOCAL.check(address, kind)) return 'link-local';
  if (UNSPECIFIED.check(address, kind)) return 'unspecified';
  if (MULTICAST.check(address, kind)) return 'multicast';
  if (apiServers.some((api) => canonical(api.address) === address && api.port === endpoint.port)) return 'api-server';
  return undefined;
}
