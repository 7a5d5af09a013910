import { describe, expect, it } from 'vitest';
import { voxelToWorld, worldToVoxel } from '../../volumes/affine.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { directionForCode, orientationCode } from '../../volumes/orientation.ts';
import { reorient } from '../../volumes/reorient.ts';
import { dtypeOf, voxelIndex } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { createRng } from '../../volumes/random.ts';
import { rotation, synthetic, TILTED } from './synthetic-volume.ts';

function allCodes(): string[] {
  const pairs = ['LR', 'PA', 'SI'];
  const codes: string[] = [];
  for (const perm of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    for (let s = 0; s < 8; s++) codes.push(perm.map((p, a) => pairs[p][(s >> a) & 1]).join(''));
  return codes;
}

/** Every output voxel sits at the world position of the input voxel with the same value. */
function expectSameWorld(out: Volume, vol: Volume): void {
  const n = out.shape[0] * out.shape[1] * out.shape[2];
  const nin = vol.shape[0] * vol.shape[1] * vol.shape[2];
  const problems: string[] = [];
  for (let k = 0; k < out.shape[2]; k++)
    for (let j = 0; j < out.shape[1]; j++)
      for (let i = 0; i < out.shape[0]; i++) {
        const x = worldToVoxel(vol, voxelToWorld(out, [i, j, k]));
        const src = x.map(Math.round);
        if (x.some((v, a) => Math.abs(v - src[a]) > 1e-9)) problems.push(`voxel ${i},${j},${k} maps to non-integer ${x.join(',')}`);
        for (let ch = 0; ch < vol.channels; ch++) {
          const a = out.data[ch * n + voxelIndex(out.shape, i, j, k)];
          const b = vol.data[ch * nin + voxelIndex(vol.shape, src[0], src[1], src[2])];
          if (a !== b) problems.push(`voxel ${i},${j},${k} ch ${ch}: ${a} vs ${b}`);
        }
      }
  expect(problems).toEqual([]);
}

describe('reorient', () => {
  it('reaches every one of the 48 codes keeping the world position of every voxel (2 channels, int16, tilted)', () => {
    const vol = synthetic({ shape: [4, 3, 5], channels: 2, dtype: 'int16' });
    for (const code of allCodes()) {
      const out = reorient(vol, code);
      expect(orientationCode(out)).toBe(code);
      expect(dtypeOf(out.data)).toBe('int16');
      expect(out.channels).toBe(2);
      expectSameWorld(out, vol);
    }
  });

  it('ends at the target code for strongly oblique directions too (random rotations)', () => {
    const rng = createRng(3);
    for (let t = 0; t < 60; t++) {
      const vol = synthetic({ shape: [3, 2, 4], direction: rotation(rng() * 7, rng() * 7, rng() * 7) });
      for (const code of allCodes()) expect(orientationCode(reorient(vol, code))).toBe(code);
      if (t % 10 === 0) expectSameWorld(reorient(vol, 'RAS'), vol);
    }
  });

  it('updates geometry field by field (LPS → RAS on an axis-aligned volume)', () => {
    const vol = synthetic({ shape: [4, 3, 5], direction: directionForCode('LPS'), spacing: [0.5, 1, 3], origin: [10, 20, 30] });
    const out = reorient(vol, 'RAS');
    expect(out.shape).toEqual([4, 3, 5]);
    expect(out.spacing).toEqual([0.5, 1, 3]);
    expect(out.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    expect(Object.is(out.direction[1], 0)).toBe(true);
    expect(out.origin).toEqual([10 + 3 * 0.5, 20 + 2 * 1, 30]);
    expect(out.data[0]).toBe(vol.data[voxelIndex(vol.shape, 3, 2, 0)]);
    expect(out.data[out.data.length - 1]).toBe(vol.data[voxelIndex(vol.shape, 0, 0, 4)]);
    expect(out.history.at(-1)).toEqual({ op: 'reorient', params: { from: 'LPS', to: 'RAS', axes: [0, 1, 2], flips: [true, true, false] } });
    expect(vol.history).toEqual([]);
  });

  it('permutes shape and spacing with the axes (ASL target), labels keep kind and values', () => {
    const vol = synthetic({ shape: [4, 3, 5], spacing: [0.5, 1, 3], kind: 'label', dtype: 'uint8', value: (i, j, k) => (i + j + k) % 4 });
    const out = reorient(vol, 'ASL');
    // A ← j (P flipped), S ← k, L ← i
    expect(out.shape).toEqual([3, 5, 4]);
    expect(out.spacing).toEqual([1, 3, 0.5]);
    expect(out.kind).toBe('label');
    expectSameWorld(out, vol);
  });

  it('is the identity for the current code and round-trips for the tilted direction', () => {
    const vol = synthetic({ shape: [3, 4, 2], direction: TILTED, channels: 1 });
    const same = reorient(vol, orientationCode(vol));
    expect(Array.from(same.data)).toEqual(Array.from(vol.data));
    expect(same.origin).toEqual(vol.origin);
    expect(same.direction).toEqual(vol.direction);
    expect(same.data).not.toBe(vol.data);
    const back = reorient(reorient(vol, 'IRA'), 'LPS');
    expect(Array.from(back.data)).toEqual(Array.from(vol.data));
    back.origin.forEach((x, a) => expect(x).toBeCloseTo(vol.origin[a], 9));
    back.direction.forEach((x, a) => expect(x).toBeCloseTo(vol.direction[a], 12));
    expect(back.spacing).toEqual(vol.spacing);
    expect(back.history.map((h) => h.op)).toEqual(['reorient', 'reorient']);
  });

  it('rejects bad target codes with INVALID_ARGUMENT', () => {
    try {
      reorient(synthetic(), 'XYZ');
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
