import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { RegistryError } from './errors';

/**
 * Where the importer may connect. A registry, a token realm and a redirect target are all chosen by whoever
 * controls the registry, so outside local mode addresses that reach the service's own network (loopback, private,
 * link-local — Lambda's credential endpoints live there) are refused unless an operator allow-lists the host.
 */
export interface NetworkPolicy {
  /** Local mode: loopback and private networks are fine. */
  allowPrivateNetworks: boolean;
  /** Hosts (`host` or `host:port`) allowed even though they resolve to private addresses. */
  allowedPrivateHosts: string[];
  /** Registries (`host` or `host:port`) that may be reached over plain HTTP without importPolicy.insecure. */
  insecureRegistries: string[];
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(bare, 'ipv6');
  }
  return false;
}

export function hostMatches(list: string[], url: URL): boolean {
  return list.some((h) => h === url.host || h === url.hostname);
}

export type Resolver = (hostname: string) => Promise<string[]>;

const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Refuses a URL whose host is, or resolves to, a private address under the policy. Resolution and connection
 * are separate steps (a DNS answer could change in between); the check still stops every configuration- and
 * challenge-driven route to internal addresses, which is what reaches them in practice.
 */
export async function checkDestination(
  url: URL,
  policy: NetworkPolicy,
  resolve: Resolver = systemResolver,
): Promise<void> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RegistryError('forbidden', `unsupported URL scheme ${url.protocol}`);
  if (hostMatches(policy.allowedPrivateHosts, url)) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // Link-local is where cloud metadata and credential endpoints live; no registry is there, even in local mode.
  if (isIP(host) && linkLocal.check(host, isIP(host) === 4 ? 'ipv4' : 'ipv6'))
    throw new RegistryError('forbidden', `${url.host} is a link-local address, which imports may not reach`);
  if (policy.allowPrivateNetworks) return;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else if (host === 'localhost' || host.endsWith('.localhost')) addresses = ['127.0.0.1'];
  else {
    try {
      addresses = await resolve(host);
    } catch (e) {
      throw new RegistryError(
        'transport',
        `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
  }
  if (addresses.some(isPrivateAddress))
    throw new RegistryError(
      'forbidden',
      `${url.host} resolves to a loopback, private or link-local address, which imports may not reach (allow-list the host to permit it)`,
    );
}
