import { describe, expect, it } from 'vitest';
import { itemBytes, MAX_ITEM_BYTES } from '../../../functions/store/item-size';

describe('itemBytes (DynamoDB item size)', () => {
  it('counts names and values as DynamoDB does', () => {
    // Strings by UTF-8 bytes: "PK" (2) + "IS#a" (4), "é" is 2 bytes.
    expect(itemBytes({ PK: 'IS#a', e: 'é' })).toBe(2 + 4 + 1 + 2);
    // Numbers: one byte per two significant digits, plus one; booleans and nulls one byte.
    expect(itemBytes({ n: 12345, b: true, z: null })).toBe(1 + 4 + 1 + 1 + 1 + 1);
    // Maps and lists: 3 bytes, plus 1 per element, plus the elements (map keys as names).
    expect(itemBytes({ m: { ab: 'c' }, l: ['x', 'yz'] })).toBe(1 + (3 + 1 + 2 + 1) + 1 + (3 + 1 + 1 + 1 + 2));
    expect(itemBytes({ u: undefined })).toBe(0);
  });

  it('the limit is 400 KB', () => {
    expect(MAX_ITEM_BYTES).toBe(409_600);
    expect(itemBytes({ s: 'x'.repeat(MAX_ITEM_BYTES - 1) })).toBe(MAX_ITEM_BYTES);
  });
});
