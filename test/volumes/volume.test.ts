import { describe, expect, it } from 'vitest';
import { createVolume, deriveVolume, channelData } from '../../volumes/volume.ts';
import { affineOf, geometryFromAffine, invertAffine, multiplyAffine, voxelToWorld, worldToVoxel } from '../../volumes/affine.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';

const c = Math.cos(0.3);
const s = Math.sin(0.3);
const tilted = [c, -s, 0, s, c, 0, 0, 0, 1];

describe('Volume', () => {
  it('keeps geometry field by field and derives the affine', () => {
    const v = createVolume({ data: new Float32Array(4 * 3 * 2), shape: [4, 3, 2], spacing: [0.5, 1.5, 3], origin: [10, -20, 5], direction: tilted });
    expect(v.shape).toEqual([4, 3, 2]);
    expect(v.spacing).toEqual([0.5, 1.5, 3]);
    expect(v.origin).toEqual([10, -20, 5]);
    expect(v.direction).toEqual(tilted);
    const a = affineOf(v);
    const g = geometryFromAffine(a);
    g.spacing.forEach((x, i) => expect(x).toBeCloseTo(v.spacing[i], 12));
    g.direction.forEach((x, i) => expect(x).toBeCloseTo(tilted[i], 12));
    const id = multiplyAffine(a, invertAffine(a));
    id.forEach((x, i) => expect(x).toBeCloseTo([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1][i], 12));
    const w = voxelToWorld(v, [3, 2, 1]);
    const back = worldToVoxel(v, w);
    back.forEach((x, i) => expect(x).toBeCloseTo([3, 2, 1][i], 10));
    expect(w[2]).toBeCloseTo(5 + 3, 12);
  });

  it('rejects wrong data length, bad spacing and non-orthonormal direction with stable codes', () => {
    const bad = [
      () => createVolume({ data: new Float32Array(5), shape: [2, 2, 2] }),
      () => createVolume({ data: new Float32Array(8), shape: [2, 2, 2], spacing: [1, 0, 1] }),
      () => createVolume({ data: new Float32Array(8), shape: [2, 2, 2], direction: [1, 1, 0, 0, 1, 0, 0, 0, 1] }),
      () => createVolume({ data: new Float32Array(8), shape: [2, 2, 2], origin: [0, Number.NaN, 0] }),
    ];
    for (const f of bad) {
      try {
        f();
        expect.unreachable('should have thrown');
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_VOLUME')).toBe(true);
      }
    }
  });

  it('derives volumes with history and exposes channels as views', () => {
    const v = createVolume({ data: Float32Array.from({ length: 16 }, (_, i) => i), shape: [2, 2, 2], channels: 2 });
    expect(channelData(v, 1)[0]).toBe(8);
    const d = deriveVolume(v, { data: new Float32Array(16) }, { op: 'zero', params: {} });
    expect(d.history.map((h) => h.op)).toEqual(['zero']);
    expect(v.history).toEqual([]);
  });
});
