/** DynamoDB's limit on one item, attribute names and values together. */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * An item's size as DynamoDB counts it against {@link MAX_ITEM_BYTES}: each attribute's name in UTF-8 bytes plus its
 * value; strings by their UTF-8 bytes, numbers by about one byte per two significant digits plus one, booleans and
 * nulls one byte, lists and maps three bytes plus one per element plus their elements (map keys counted as names).
 * Values are as the document client takes them (plain objects, arrays, Maps, Sets, binary).
 */
export function itemBytes(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name) + valueBytes(value);
  }
  return size;
}

function valueBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberBytes(String(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let size = 0;
    for (const v of value) size += valueBytes(v);
    return size;
  }
  if (Array.isArray(value)) {
    let size = 3;
    for (const v of value) if (v !== undefined) size += 1 + valueBytes(v);
    return size;
  }
  if (value instanceof Map) {
    let size = 3;
    for (const [k, v] of value) if (v !== undefined) size += 1 + Buffer.byteLength(String(k)) + valueBytes(v);
    return size;
  }
  if (typeof value === 'object') {
    let size = 3;
    for (const [k, v] of Object.entries(value))
      if (v !== undefined) size += 1 + Buffer.byteLength(k) + valueBytes(v);
    return size;
  }
  return Buffer.byteLength(String(value));
}

function numberBytes(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}
