import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { RequestOptions } from 'node:http';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { beforeDeadline, type Deadline } from './deadline';
import { RegistryError } from './errors';

/**
 * Where the importer may connect. A registry, a token realm and a redirect target are all chosen by whoever
 * controls the registry, so every address a destination resolves to is checked, in every mode:
 * - link-local addresses (where cloud metadata and credential endpoints live) are never reached, even in local
 *   mode and even for an allow-listed host;
 * - loopback and private addresses are reached only in local mode or for an allow-listed host.
 * The connection then goes to exactly the addresses that were checked (see {@link pinnedLookup}), so a DNS answer
 * that changes between the check and the connection cannot lead anywhere else.
 */
export interface NetworkPolicy {
  /** Local mode: loopback and private networks are fine. */
  allowPrivateNetworks: boolean;
  /** Hosts (`host` or `host:port`) allowed even though they resolve to private addresses. */
  allowedPrivateHosts: string[];
  /** Registries (`host` or `host:port`) that may be reached over plain HTTP without importPolicy.insecure. */
  insecureRegistries: string[];
}

/**
 * `link-local` is never reachable; `private` (loopback, private, shared, reserved, multicast) only in local mode
 * or for an allow-listed host; `public` always.
 */
export type AddressClass = 'public' | 'private' | 'link-local';

/**
 * AWS's instance metadata service over IPv6. It lives in a unique-local range rather than a link-local one, but it
 * is the same credential endpoint as 169.254.169.254 and gets the same treatment.
 */
const METADATA_V6 = ipaddr.IPv6.parse('fd00:ec2::254');

/** The class of an IP address; undefined when `address` is not one. */
export function classifyAddress(address: string): AddressClass | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  // net.isIP accepts only the forms a socket connects to (no `0x7f.1` shorthands); a zone id is allowed.
  if (isIP(bare.replace(/%.*$/, '')) === 0) return undefined;
  const ip = ipaddr.parse(bare);
  if (ip.kind() === 'ipv4') return classifyIPv4(ip as ipaddr.IPv4);
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  if (range === 'linkLocal' || v6.match(METADATA_V6, 128)) return 'link-local';
  const embedded = embeddedIPv4(v6);
  if (embedded) return classifyIPv4(embedded);
  return range === 'unicast' ? 'public' : 'private';
}

function classifyIPv4(ip: ipaddr.IPv4): AddressClass {
  const range = ip.range();
  if (range === 'linkLocal') return 'link-local';
  return range === 'unicast' ? 'public' : 'private';
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach it: IPv4-mapped (`::ffff:a.b.c.d`),
 * IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some
 * stacks), NAT64 (`64:ff9b::/96` and the local-use `64:ff9b:1::/48`) and 6to4 (`2002:AABB:CCDD::/48`).
 */
export function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const zero = (from: number, to: number) => p.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && p[5] === 0xffff) return v4(p[6]!, p[7]!);
  if (zero(0, 4) && p[4] === 0xffff && p[5] === 0) return v4(p[6]!, p[7]!);
  if (zero(0, 6) && (p[6] !== 0 || p[7]! > 1)) return v4(p[6]!, p[7]!);
  if (p[0] === 0x64 && p[1] === 0xff9b && (zero(2, 6) || p[2] === 1)) return v4(p[6]!, p[7]!);
  if (p[0] === 0x2002) return v4(p[1]!, p[2]!);
  return undefined;
}

/** Loopback, private or link-local: anything an import must not reach outside local mode. */
export function isPrivateAddress(address: string): boolean {
  const c = classifyAddress(address);
  return c !== undefined && c !== 'public';
}

export function hostMatches(list: string[], url: URL): boolean {
  return list.some((h) => h === url.host || h === url.hostname);
}

/**
 * Why `url`, resolving to `addresses`, may not be reached under `policy`; undefined when it may. Every address
 * counts: a name with one public and one link-local address is refused (the connection could use either).
 */
export function refusal(url: URL, addresses: string[], policy: NetworkPolicy): string | undefined {
  const named = isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0;
  const where = (address: string) => (named ? `${url.host} resolves to ${address}, ` : `${url.host} is `);
  for (const address of addresses) {
    const c = classifyAddress(address);
    if (c === undefined)
      return `${url.host} resolved to ${JSON.stringify(address)}, which is not an IP address`;
    if (c === 'link-local')
      return `${where(address)}a link-local address, which imports may never reach (cloud metadata and credential endpoints live there)`;
  }
  if (policy.allowPrivateNetworks || hostMatches(policy.allowedPrivateHosts, url)) return undefined;
  const inside = addresses.find((a) => classifyAddress(a) === 'private');
  return inside
    ? `${where(inside)}a loopback or private address, which imports may not reach (allow-list the host to permit it)`
    : undefined;
}

/** Resolves a host name to every address it has (A and AAAA), in the resolver's order. */
export type HostLookup = (hostname: string) => Promise<string[]>;

export const systemLookup: HostLookup = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The addresses `url` may be connected to: its host resolved (an IP literal is its own address) and checked
 * under `policy`. Throws `forbidden` when any address is refused, before anything is sent.
 */
export async function resolveDestination(
  url: URL,
  policy: NetworkPolicy,
  lookup: HostLookup = systemLookup,
  deadline?: Deadline,
): Promise<string[]> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new RegistryError('forbidden', `unsupported URL scheme ${url.protocol}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  // RFC 6761: localhost names are loopback and never go to DNS.
  else if (host === 'localhost' || host.endsWith('.localhost')) addresses = ['127.0.0.1', '::1'];
  else {
    try {
      const answer = lookup(host);
      addresses = deadline
        ? await beforeDeadline(
            answer,
            deadline,
            () => new RegistryError('transport', `${url.host}: the deadline passed while resolving ${host}`),
          )
        : await answer;
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw new RegistryError(
        'transport',
        `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    if (addresses.length === 0) throw new RegistryError('transport', `cannot resolve ${host}: no addresses`);
  }
  const why = refusal(url, addresses, policy);
  if (why) throw new RegistryError('forbidden', why);
  return addresses;
}

/** Refuses a URL whose host is, or resolves to, an address the policy does not allow. */
export async function checkDestination(
  url: URL,
  policy: NetworkPolicy,
  lookup: HostLookup = systemLookup,
): Promise<void> {
  await resolveDestination(url, policy, lookup);
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** What a socket calls to turn its host name into addresses. */
export type SocketLookup = NonNullable<RequestOptions['lookup']>;

/**
 * A socket `lookup` that answers only with already checked addresses: the connection goes where the check
 * looked, whatever DNS says by then. Shaped like `dns.lookup` (Node asks for `all` when it races IPv4 and IPv6).
 */
export function pinnedLookup(addresses: string[]): SocketLookup {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (hostname: string, options: LookupOptions | number, callback: LookupCallback) => {
    const opts: LookupOptions = typeof options === 'number' ? { family: options } : (options ?? {});
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
    const usable = family === 4 || family === 6 ? entries.filter((e) => e.family === family) : entries;
    if (usable.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`no checked IPv${family} address for ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, opts.all ? [] : '', family);
      return;
    }
    if (opts.all) callback(null, usable);
    else callback(null, usable[0]!.address, usable[0]!.family);
  };
}
