import { describe, expect, it } from 'vitest';
import { EcrCredentials } from '../../../functions/aws/ecr-credentials';

const HOST = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';

function fake(expiresInMs = 12 * 3600_000) {
  const calls: string[] = [];
  let n = 0;
  let now = 1_000_000;
  const creds = new EcrCredentials(
    () => now,
    (region) => ({
      send: (async () => {
        calls.push(region);
        n++;
        return {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:secret-${n}`).toString('base64'),
              expiresAt: new Date(now + expiresInMs),
            },
          ],
        };
      }) as never,
    }),
  );
  return { creds, calls, advance: (ms: number) => (now += ms) };
}

describe('EcrCredentials', () => {
  it('handles only ECR hosts', () => {
    const { creds } = fake();
    expect(creds.handles(HOST)).toBe(true);
    expect(creds.handles('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com')).toBe(true);
    expect(creds.handles('quay.io')).toBe(false);
    expect(creds.handles('public.ecr.aws')).toBe(false);
  });

  it('decodes AWS:<password>, caches per region well under 12 h, refreshes on demand', async () => {
    const { creds, calls, advance } = fake();
    expect(await creds.get(HOST, false)).toEqual({ username: 'AWS', password: 'secret-1' });
    expect(await creds.get(HOST, false)).toEqual({ username: 'AWS', password: 'secret-1' });
    expect(calls).toEqual(['eu-central-1']);
    expect(await creds.get(HOST, true)).toEqual({ username: 'AWS', password: 'secret-2' });
    advance(5 * 3600_000);
    expect((await creds.get(HOST, false))?.password).toBe('secret-2');
    advance(2 * 3600_000);
    expect((await creds.get(HOST, false))?.password).toBe('secret-3');
    expect(calls).toHaveLength(3);
  });
});
