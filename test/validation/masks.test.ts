/** bodyMask: threshold, largest component, hole filling; on the phantom and on hand-made volumes. */
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { createVolume } from '../../volumes/volume.ts';
import type { Shape3 } from '../../volumes/volume.ts';
import { bodyMask, otsuThreshold } from '../../validation/masks.ts';
import { dice } from '../../validation/metrics/dice.ts';

function ctBox(shape: Shape3, fill: (i: number, j: number, k: number) => number) {
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let k = 0; k < shape[2]; k++) for (let j = 0; j < shape[1]; j++) for (let i = 0; i < shape[0]; i++) data[i + shape[0] * (j + shape[1] * k)] = fill(i, j, k);
  return createVolume({ data, shape, modality: 'CT', meta: { units: 'HU' } });
}

const count = (d: ArrayLike<number>): number => Array.from(d).filter((v) => v !== 0).length;

describe('bodyMask', () => {
  it('covers the phantom head (labels ≠ 0) from CT (−500 HU) and from T1 (Otsu)', () => {
    const p = generatePhantom({ region: 'head', shape: [48, 48, 32], seed: 3 });
    const truth = createVolume({ data: p.labels.data.map((v) => (v !== 0 ? 1 : 0)), shape: p.labels.shape, spacing: p.labels.spacing, origin: p.labels.origin, kind: 'label' });
    const ct = bodyMask(p.ct);
    expect(ct.kind).toBe('label');
    expect(ct.data).toBeInstanceOf(Uint8Array);
    expect([...ct.shape]).toEqual([48, 48, 32]);
    expect(ct.history.at(-1)).toEqual({ op: 'bodyMask', params: { threshold: -500, fillHoles: 'slice', sliceAxis: 2 } });
    expect(dice(ct, truth)).toBeGreaterThan(0.97);
    const t1 = bodyMask(p.t1);
    expect(t1.history.at(-1)?.params.threshold).toBe(otsuThreshold(p.t1.data));
    expect(dice(t1, truth)).toBeGreaterThan(0.9);
  });

  it('keeps the largest 6-connected component and fills enclosed air per slice', () => {
    const shape: Shape3 = [20, 20, 6];
    // a square ring of soft tissue (air inside) in every slice, plus a far blob touching it only diagonally
    const vol = ctBox(shape, (i, j, k) => {
      const ring = i >= 3 && i <= 12 && j >= 3 && j <= 12 && !(i >= 5 && i <= 10 && j >= 5 && j <= 10);
      const blob = i >= 13 && i <= 15 && j >= 13 && j <= 15 && k >= 1 && k <= 4;
      return ring || blob ? 40 : -1000;
    });
    const m = bodyMask(vol);
    expect(count(m.data)).toBe(10 * 10 * 6);
    expect(m.data[17 + 20 * 17 + 400 * 2]).toBe(0);
    expect(m.data[14 + 20 * 14 + 400 * 2]).toBe(0);
    expect(m.data[7 + 20 * 7 + 400 * 3]).toBe(1);
    expect(count(bodyMask(vol, { fillHoles: 'none' }).data)).toBe((100 - 36) * 6);
    // the hole runs through the whole z extent, so it touches the volume border: 3-D filling keeps it
    expect(count(bodyMask(vol, { fillHoles: '3d' }).data)).toBe((100 - 36) * 6);
    // slices across x: the ring's walls are lines there and enclose nothing
    expect(count(bodyMask(vol, { sliceAxis: 0 }).data)).toBe((100 - 36) * 6);
  });

  it("'3d' fills a cavity closed in 3-D that 'none' keeps", () => {
    const shell = ctBox([10, 10, 10], (i, j, k) => {
      const inBox = (lo: number, hi: number): boolean => i >= lo && i <= hi && j >= lo && j <= hi && k >= lo && k <= hi;
      return inBox(2, 7) && !inBox(4, 5) ? 30 : -1000;
    });
    expect(count(bodyMask(shell, { fillHoles: 'none' }).data)).toBe(216 - 8);
    expect(count(bodyMask(shell, { fillHoles: '3d' }).data)).toBe(216);
    expect(count(bodyMask(shell).data)).toBe(216);
  });

  it('an explicit threshold overrides the default; nothing above it gives an empty mask', () => {
    const vol = ctBox([8, 8, 8], (i) => (i < 4 ? 100 : 300));
    expect(count(bodyMask(vol, { threshold: 200 }).data)).toBe(4 * 64);
    expect(count(bodyMask(vol, { threshold: 1000 }).data)).toBe(0);
  });

  it('rejects NaN voxels and bad options with VoxshiftErrors', () => {
    const vol = ctBox([4, 4, 4], (i) => (i === 2 ? NaN : 0));
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return isVoxshiftError(e) ? e.shortCode : 'not a VoxshiftError';
      }
      return undefined;
    };
    expect(codeOf(() => bodyMask(vol))).toBe('NON_FINITE_VALUES');
    const ok = ctBox([4, 4, 4], () => 0);
    expect(codeOf(() => bodyMask(ok, { fillHoles: 'x' as 'none' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bodyMask(ok, { sliceAxis: 3 as 2 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bodyMask(ok, { threshold: NaN }))).toBe('INVALID_ARGUMENT');
  });
});
