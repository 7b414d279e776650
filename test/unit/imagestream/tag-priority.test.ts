import { describe, expect, it } from 'vitest';
import { prioritizeTags } from '../../../functions/core/imagestream/tag-priority';

describe('prioritizeTags (library-go PrioritizeTags)', () => {
  it('puts latest first, then minor versions, then full versions newest first, then the rest lexically', () => {
    expect(
      prioritizeTags([
        'foo',
        '1.2.3',
        '1.2',
        'latest',
        '1.10',
        'v1.10',
        '2.0.0-rc1',
        '2.0.0',
        'abc',
        '1.2-rc1',
        'v1.2.3',
      ]),
    ).toEqual([
      'latest',
      '1.10',
      'v1.10',
      '1.2',
      '1.2-rc1',
      '2.0.0',
      '2.0.0-rc1',
      '1.2.3',
      'v1.2.3',
      'abc',
      'foo',
    ]);
  });
  it('treats leading zeros and malformed versions as ordinary names', () => {
    expect(prioritizeTags(['01.2.3', '1.2.3.4', 'v', '1.2.3'])).toEqual(['1.2.3', '01.2.3', '1.2.3.4', 'v']);
  });
  it('compares pre-releases numerically then lexically', () => {
    expect(prioritizeTags(['1.0.0-alpha.10', '1.0.0-alpha.2', '1.0.0-beta', '1.0.0'])).toEqual([
      '1.0.0',
      '1.0.0-beta',
      '1.0.0-alpha.10',
      '1.0.0-alpha.2',
    ]);
  });
});
