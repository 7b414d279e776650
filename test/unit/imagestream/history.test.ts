import { describe, expect, it } from 'vitest';
import { addTagEvent } from '../../../functions/core/imagestream/history';
import { emptyTagRecord, RECENT_EVENTS_KEPT } from '../../../functions/core/imagestream/model';

const ev = (ref: string, image: string, generation: number, created = '2026-01-01T00:00:00Z') => ({
  created,
  dockerImageReference: ref,
  image,
  generation,
});

describe('addTagEvent (docs/semantics.md#history)', () => {
  it('pushes the first event and clears conditions', () => {
    // Prepare
    const tag = emptyTagRecord('t', 'x');
    tag.conditions = [{ type: 'ImportSuccess', status: 'False', reason: 'NotFound', generation: 1 }];
    // Act
    const result = addTagEvent(tag, ev('R1', 'I1', 2));
    // Assess
    expect(result).toBe('prepended');
    expect(tag.recent).toEqual([ev('R1', 'I1', 2)]);
    expect(tag.topSeq).toBe(1);
    expect(tag.conditions).toEqual([]);
  });

  it('treats an exact duplicate of the newest event as no change, conditions untouched', () => {
    const tag = emptyTagRecord('t', 'x');
    addTagEvent(tag, ev('R1', 'I1', 2));
    tag.conditions = [{ type: 'ImportSuccess', status: 'False', reason: 'NotFound', generation: 3 }];
    expect(addTagEvent(tag, ev('R1', 'I1', 2, '2030-01-01T00:00:00Z'))).toBe('unchanged');
    expect(tag.conditions).toHaveLength(1);
    expect(tag.topSeq).toBe(1);
  });

  it('collapses the same image and reference into the newest event, keeping its created time', () => {
    const tag = emptyTagRecord('t', 'x');
    addTagEvent(tag, ev('R1', 'I1', 2));
    expect(addTagEvent(tag, ev('R1', 'I1', 3, '2030-01-01T00:00:00Z'))).toBe('updated');
    expect(tag.recent).toEqual([ev('R1', 'I1', 3)]);
    expect(tag.topSeq).toBe(1);
  });

  it('updates image or reference in place when only one of them changes', () => {
    const tag = emptyTagRecord('t', 'x');
    addTagEvent(tag, ev('R1', '', 2));
    expect(addTagEvent(tag, ev('R1', 'I1', 3))).toBe('updated');
    expect(tag.recent).toEqual([ev('R1', 'I1', 3)]);
    expect(addTagEvent(tag, ev('R2', 'I1', 4))).toBe('updated');
    expect(tag.recent).toEqual([ev('R2', 'I1', 4)]);
  });

  it('prepends new images, compares only the newest entry, and keeps a bounded recent window', () => {
    const tag = emptyTagRecord('t', 'x');
    addTagEvent(tag, ev('R1', 'I1', 1));
    addTagEvent(tag, ev('R2', 'I2', 2));
    expect(addTagEvent(tag, ev('R1', 'I1', 3))).toBe('prepended');
    expect(tag.recent.map((e) => e.image)).toEqual(['I1', 'I2', 'I1']);
    for (let i = 0; i < 20; i++) addTagEvent(tag, ev(`R${i}x`, `I${i}x`, 10 + i));
    expect(tag.recent).toHaveLength(RECENT_EVENTS_KEPT);
    expect(tag.topSeq).toBe(23);
    expect(tag.recent[0]!.image).toBe('I19x');
  });
});
