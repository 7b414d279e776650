import { describe, expect, it } from 'vitest';
import { headersOf, humanAge, TABLE_PRINTERS } from '../../../functions/core/printers';

describe('humanAge (kubectl AGE, apimachinery duration.HumanDuration)', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const since = (seconds: number) => new Date(now - seconds * 1000).toISOString();
  it.each([
    [0, '0s'],
    [119, '119s'],
    [120, '2m'],
    [9 * 60 + 5, '9m5s'],
    [10 * 60 + 5, '10m'],
    [179 * 60, '179m'],
    [3 * 3600, '3h'],
    [7 * 3600 + 59 * 60, '7h59m'],
    [47 * 3600, '47h'],
    [3 * 86_400 + 4 * 3600, '3d4h'],
    [7 * 86_400, '7d'],
    [400 * 86_400, '400d'],
    [2 * 365 * 86_400 + 30 * 86_400, '2y30d'],
    [9 * 365 * 86_400, '9y'],
    [-30, '<invalid>'],
  ])('%i seconds old is %s', (seconds, age) => {
    expect(humanAge(since(seconds), now)).toBe(age);
  });
  it('says <unknown> without a time', () => expect(humanAge(undefined, now)).toBe('<unknown>'));
});

describe('table printers', () => {
  it('name their columns as oc and kubectl print them', () => {
    expect(headersOf(TABLE_PRINTERS.imagestreams!)).toEqual(['NAME', 'IMAGE REPOSITORY', 'TAGS', 'UPDATED']);
    expect(headersOf(TABLE_PRINTERS.rolebindings!, true)).toEqual([
      'NAME',
      'ROLE',
      'AGE',
      'USERS',
      'GROUPS',
      'SERVICEACCOUNTS',
    ]);
  });
});
