/** comparableMapping: how two segmenters' classes are made comparable. */
import { describe, expect, it } from 'vitest';
import { ctSegmenter } from '../../../validation/segment/ct-segmenter.ts';
import { mrSegmenter } from '../../../validation/segment/mr-segmenter.ts';
import { comparableMapping, IGNORE, SHARED_CLASS } from '../../../validation/segment/segmenter.ts';

describe('comparableMapping', () => {
  it('compares MR dark with CT air ∪ bone, ignores marrow, merges fluid into soft', () => {
    const m = comparableMapping(mrSegmenter().classes, ctSegmenter().classes);
    expect(m.classes).toEqual([0, 1, 2, 3]);
    expect([...m.mapA.slice(0, 5)]).toEqual([0, 1, 2, 3, 3]);
    expect([...m.mapB.slice(0, 7)]).toEqual([0, 1, 2, 3, IGNORE, 1, IGNORE]);
    expect(m.rules).toEqual(['A: fluid → soft', 'B: bone → dark', 'B: marrow → ignored']);
  });

  it('compares two CT segmentations class by class', () => {
    const ct = ctSegmenter().classes;
    const m = comparableMapping(ct, ct);
    expect(m.classes).toEqual([0, 1, 2, 3, 5, 6]);
    expect(m.rules).toEqual([]);
    for (const c of ct) {
      expect(m.mapA[c]).toBe(c);
      expect(m.mapB[c]).toBe(c);
    }
  });

  it('merges fat into soft tissue against a segmenter without fat', () => {
    const m = comparableMapping(mrSegmenter({ componentClasses: [1, 3, 3, 3, 4] }).classes, ctSegmenter({ fluidHu: [-10, 18] }).classes);
    expect(m.classes).toEqual([0, 1, 3, 4]);
    expect(m.mapB[SHARED_CLASS.FAT]).toBe(SHARED_CLASS.SOFT);
  });
});
