import { describe, expect, it } from 'vitest';
import { CHALLENGE_TTL_MS, RegistryAuth } from '../../../functions/registry/auth';
import {
  beforeDeadline,
  deadlineIn,
  exchangeBudget,
  isOver,
  msLeft,
  waitFits,
  within,
} from '../../../functions/registry/deadline';
import {
  checkDestination,
  classifyAddress,
  pinnedLookup,
  resolveDestination,
} from '../../../functions/registry/network-policy';
import { HostSlots, type RegistryTransport } from '../../../functions/registry/transport';

const local = { allowPrivateNetworks: true, allowedPrivateHosts: [], insecureRegistries: [] };
const strict = { allowPrivateNetworks: false, allowedPrivateHosts: [], insecureRegistries: [] };
const answers = (ips: string[]) => async () => ips;

describe('address classification', () => {
  it('link-local in every spelling: IPv4, IPv6, mapped, translated, compatible, NAT64, 6to4, metadata', () => {
    for (const a of [
      '169.254.169.254',
      '169.254.0.1',
      'fe80::1',
      'fe80::1%eth0',
      'febf:ffff::1',
      '[fe80::abcd]',
      '::ffff:169.254.169.254',
      '::ffff:169.254.1.1',
      '::ffff:a9fe:a9fe',
      '::FFFF:A9FE:0101',
      '::ffff:0:169.254.1.1',
      '::169.254.169.254',
      '::a9fe:a9fe',
      '64:ff9b::169.254.169.254',
      '64:ff9b:1::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
      'fd00:ec2::254',
    ])
      expect(classifyAddress(a), a).toBe('link-local');
  });

  it('private: loopback, RFC 1918, shared, unspecified, unique-local, multicast, and their mapped forms', () => {
    for (const a of [
      '127.0.0.1',
      '127.5.5.5',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.251',
      '255.255.255.255',
      '::1',
      '::',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.1.2.3',
      '64:ff9b::10.0.0.1',
      '2002:0a00:0001::1',
    ])
      expect(classifyAddress(a), a).toBe('private');
  });

  it('public addresses, including public IPv4 in IPv6 clothing; anything else is not an address', () => {
    for (const a of ['8.8.8.8', '52.94.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8'])
      expect(classifyAddress(a), a).toBe('public');
    for (const a of ['example.com', '0x7f.1', '127.1', '', '1.2.3.4.5', 'fe80::1::2'])
      expect(classifyAddress(a), a).toBeUndefined();
  });
});

describe('destination check: every resolved address, every mode', () => {
  it('refuses a name resolving to link-local in local mode and when allow-listed, however it is spelt', async () => {
    const allowListed = { ...strict, allowedPrivateHosts: ['reg.example:5000'] };
    for (const ips of [
      ['169.254.169.254'],
      ['fe80::1'],
      ['::ffff:169.254.1.1'],
      ['52.94.1.1', '169.254.169.254'],
      ['127.0.0.1', 'fe80::1'],
    ])
      for (const policy of [local, strict, allowListed]) {
        const e = await resolveDestination(new URL('http://reg.example:5000/v2/'), policy, answers(ips)).then(
          () => undefined,
          (err) => err,
        );
        expect(e, `${ips} ${JSON.stringify(policy)}`).toMatchObject({ kind: 'forbidden' });
        expect(e.message).toContain('link-local');
      }
  });

  it('loopback and private: fine locally and when allow-listed, refused otherwise; answers are returned', async () => {
    const url = new URL('http://reg.example:5000/v2/');
    expect(await resolveDestination(url, local, answers(['127.0.0.1', '::1']))).toEqual(['127.0.0.1', '::1']);
    await expect(resolveDestination(url, strict, answers(['52.94.1.1', '10.0.0.7']))).rejects.toMatchObject({
      kind: 'forbidden',
    });
    expect(
      await resolveDestination(
        url,
        { ...strict, allowedPrivateHosts: ['reg.example'] },
        answers(['10.0.0.7']),
      ),
    ).toEqual(['10.0.0.7']);
    expect(await resolveDestination(url, strict, answers(['52.94.1.1']))).toEqual(['52.94.1.1']);
  });

  it('a resolver answer that is not an address, or no answer, is refused; the resolver is not asked for literals', async () => {
    const url = new URL('http://reg.example/v2/');
    await expect(resolveDestination(url, local, answers(['reg.other']))).rejects.toMatchObject({
      kind: 'forbidden',
    });
    await expect(resolveDestination(url, local, answers([]))).rejects.toMatchObject({ kind: 'transport' });
    const asked: string[] = [];
    const lookup = async (h: string) => {
      asked.push(h);
      return ['127.0.0.1'];
    };
    await checkDestination(new URL('http://127.0.0.1:5000/v2/'), local, lookup);
    await expect(checkDestination(new URL('http://[fe80::1]/'), local, lookup)).rejects.toMatchObject({
      kind: 'forbidden',
    });
    await expect(
      checkDestination(new URL('http://[::ffff:169.254.169.254]/'), local, lookup),
    ).rejects.toMatchObject({ kind: 'forbidden' });
    expect(asked).toEqual([]);
  });

  it('a resolver slower than the deadline ends the check at the deadline', async () => {
    const t0 = Date.now();
    const never = () => new Promise<string[]>(() => undefined);
    await expect(
      resolveDestination(new URL('http://reg.example/'), local, never, deadlineIn(100)),
    ).rejects.toMatchObject({ kind: 'transport', message: expect.stringContaining('deadline') });
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});

describe('pinned lookup', () => {
  const call = (lookup: ReturnType<typeof pinnedLookup>, options: object) =>
    new Promise<unknown[]>((resolve) =>
      lookup('any.name', options as never, (err, address, family) =>
        resolve([err?.code ?? null, address, family]),
      ),
    );

  it('answers with the checked addresses only, whatever the name, in the shape the socket asks for', async () => {
    const lookup = pinnedLookup(['127.0.0.1', '::1']);
    expect(await call(lookup, { all: true })).toEqual([
      null,
      [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
      undefined,
    ]);
    expect(await call(lookup, {})).toEqual([null, '127.0.0.1', 4]);
    expect(await call(lookup, { family: 6 })).toEqual([null, '::1', 6]);
    expect((await call(pinnedLookup(['127.0.0.1']), { family: 6 }))[0]).toBe('ENOTFOUND');
  });
});

describe('deadline arithmetic', () => {
  it('an exchange gets its own limit or what is left of the deadline, whichever is shorter, and says which', () => {
    const d = { at: 10_000 };
    expect(exchangeBudget(d, 3_000, 0)).toEqual({ ms: 3_000, cause: 'exchange' });
    expect(exchangeBudget(d, 30_000, 0)).toEqual({ ms: 10_000, cause: 'deadline' });
    expect(exchangeBudget(d, 30_000, 12_000)).toEqual({ ms: 0, cause: 'deadline' });
    expect(msLeft(d, 4_000)).toBe(6_000);
    expect(msLeft(d, 11_000)).toBe(0);
  });

  it('a wait is started only when it leaves the margin before the deadline', () => {
    const d = { at: 10_000 };
    expect(waitFits(8_000, d, 1_000, 1_000)).toBe(true);
    expect(waitFits(8_001, d, 1_000, 1_000)).toBe(false);
    expect(waitFits(0, d, 1_000, 9_500)).toBe(false);
  });

  it('within() shortens but never extends, and keeps the signal; isOver sees the time and the signal', () => {
    const controller = new AbortController();
    const d = { at: 10_000, signal: controller.signal };
    expect(within(d, 2_000, 1_000)).toEqual({ at: 3_000, signal: controller.signal });
    expect(within(d, 20_000, 1_000).at).toBe(10_000);
    expect(isOver(d, 9_999)).toBe(false);
    expect(isOver(d, 10_000)).toBe(true);
    controller.abort();
    expect(isOver(d, 0)).toBe(true);
  });

  it('deadlineIn fires its signal at the deadline, or when the parent aborts', async () => {
    const d = deadlineIn(50);
    expect(d.signal?.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(d.signal?.aborted).toBe(true);
    const parent = new AbortController();
    const child = deadlineIn(60_000, parent.signal);
    parent.abort();
    expect(child.signal?.aborted).toBe(true);
  });

  it('beforeDeadline stops waiting at the deadline and passes results and errors through before it', async () => {
    const t0 = Date.now();
    const never = new Promise<never>(() => undefined);
    await expect(beforeDeadline(never, { at: Date.now() + 80 }, () => new Error('late'))).rejects.toThrow(
      'late',
    );
    expect(Date.now() - t0).toBeLessThan(500);
    expect(await beforeDeadline(Promise.resolve(7), { at: Date.now() + 1_000 }, () => new Error('x'))).toBe(
      7,
    );
    await expect(
      beforeDeadline(Promise.reject(new Error('own')), { at: Date.now() + 1_000 }, () => new Error('x')),
    ).rejects.toThrow('own');
    const aborted = new AbortController();
    aborted.abort();
    await expect(
      beforeDeadline(
        Promise.resolve(1),
        { at: Date.now() + 1_000, signal: aborted.signal },
        () => new Error('gone'),
      ),
    ).rejects.toThrow('gone');
  });
});

describe('connection slots per host', () => {
  it('a waiter gives up at its deadline without taking a slot; a release hands the slot to the next waiter', async () => {
    const slots = new HostSlots(1);
    const first = await slots.acquire('a:1', { at: Date.now() + 5_000 });
    const t0 = Date.now();
    await expect(slots.acquire('a:1', { at: Date.now() + 100 })).rejects.toMatchObject({
      kind: 'transport',
      message: expect.stringContaining('connection slot'),
    });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(slots.usage('a:1')).toEqual({ active: 1, waiting: 0 });
    const next = slots.acquire('a:1', { at: Date.now() + 5_000 });
    expect(slots.usage('a:1')).toEqual({ active: 1, waiting: 1 });
    first();
    first(); // releasing twice gives back one slot
    const second = await next;
    expect(slots.usage('a:1')).toEqual({ active: 1, waiting: 0 });
    second();
    expect(slots.usage('a:1')).toEqual({ active: 0, waiting: 0 });
  });

  it("a busy host never holds up another host's requests; an aborted waiter leaves at once", async () => {
    const slots = new HostSlots(1);
    const busy = await slots.acquire('slow:1', { at: Date.now() + 5_000 });
    const other = await slots.acquire('fast:1', { at: Date.now() + 5_000 });
    other();
    const controller = new AbortController();
    const waiting = slots.acquire('slow:1', { at: Date.now() + 5_000, signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ message: expect.stringContaining('cancelled') });
    expect(slots.usage('slow:1')).toEqual({ active: 1, waiting: 0 });
    await expect(slots.acquire('slow:1', { at: Date.now() - 1 })).rejects.toMatchObject({
      kind: 'transport',
    });
    busy();
  });
});

describe('what challenges teach is per identity and expires', () => {
  const challenge = 'Bearer realm="https://auth.example/token",service="reg"';
  const alice = { credential: { username: 'alice', password: 'a' } };
  const bob = { credential: { username: 'bob', password: 'b' } };

  it('is remembered for the identity that met it, for CHALLENGE_TTL_MS, and forgotten on request', () => {
    let now = 1_000_000;
    const auth = new RegistryAuth({} as RegistryTransport, () => now);
    const origin = 'https://reg.example';
    auth.learn(origin, alice, challenge);
    expect(auth.knownChallenge(origin, alice)).toMatchObject({ scheme: 'bearer' });
    expect(auth.knownChallenge(origin, bob)).toBeUndefined();
    expect(auth.knownChallenge(origin, {})).toBeUndefined();
    auth.markAnonymous(origin, {});
    expect(auth.knownChallenge(origin, {})).toBeNull();
    now += CHALLENGE_TTL_MS - 1;
    expect(auth.knownChallenge(origin, alice)).toMatchObject({ scheme: 'bearer' });
    now += 1;
    expect(auth.knownChallenge(origin, alice)).toBeUndefined();
    expect(auth.knownChallenge(origin, {})).toBeUndefined();
    auth.learn(origin, bob, challenge);
    auth.forget(origin, bob);
    expect(auth.knownChallenge(origin, bob)).toBeUndefined();
  });

  it('a challenge whose token cannot be had is forgotten at once', async () => {
    const transport = {
      network: local,
      request: async () => {
        throw new Error('unreachable realm');
      },
    } as unknown as RegistryTransport;
    const auth = new RegistryAuth(transport);
    const origin = 'https://reg.example';
    auth.learn(origin, alice, challenge);
    const learned = auth.knownChallenge(origin, alice);
    await expect(
      auth.authorization(origin, learned, 'repository:x:pull', alice, Date.now() + 1_000),
    ).rejects.toThrow('unreachable realm');
    expect(auth.knownChallenge(origin, alice)).toBeUndefined();
  });
});
