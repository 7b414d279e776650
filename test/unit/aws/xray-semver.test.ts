import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gte } from '../../../functions/aws/xray-semver';

// The package the bundles swap out (the X-Ray SDK depends on it): the stand-in must answer as it does.
const semver = createRequire(import.meta.url)('semver') as { gte(a: string, b: string): boolean };

describe('the semver stand-in of the Lambda bundles', () => {
  it('compares release versions as semver.gte does', () => {
    const part = fc.integer({ min: 0, max: 30 });
    const version = fc.tuple(part, part, part).map((p) => p.join('.'));
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(gte(a, b), `${a} >= ${b}`).toBe(semver.gte(a, b));
      }),
      { numRuns: 2000 },
    );
    expect(gte('2.1693.0', '2.7.15')).toBe(true);
    expect(gte('2.7.9', '2.7.15')).toBe(false);
    expect(gte('10.0.0', '9.99.99')).toBe(true);
  });

  it('refuses what is not a release version, as semver does', () => {
    for (const v of ['2.7', 'x.y.z', '', '01.2.3']) {
      expect(() => gte(v, '2.7.15'), v).toThrow(TypeError);
      expect(() => semver.gte(v, '2.7.15'), v).toThrow(TypeError);
    }
  });
});
