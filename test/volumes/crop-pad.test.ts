import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { voxelToWorld } from '../../volumes/affine.ts';
import { boundingBox, crop, cropOrPad, pad } from '../../volumes/crop-pad.ts';
import type { PadMode } from '../../volumes/crop-pad.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { createVolume, dtypeOf, voxelIndex } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { pythonWith, synthetic } from './synthetic-volume.ts';

const PY_NUMPY = pythonWith('numpy');

function at(v: Volume, i: number, j: number, k: number, ch = 0): number {
  return v.data[ch * v.shape[0] * v.shape[1] * v.shape[2] + voxelIndex(v.shape, i, j, k)];
}

function expectWorld(a: readonly number[], b: readonly number[]): void {
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 9));
}

function expectCode(f: () => unknown, code: string, param?: string): void {
  try {
    f();
    expect.unreachable('should throw');
  } catch (e) {
    expect(isVoxshiftError(e)).toBe(true);
    expect((e as { shortCode: string }).shortCode).toBe(code);
    if (param) expect((e as { param?: string }).param).toBe(param);
  }
}

describe('crop', () => {
  it('copies the box of every channel and moves the origin to the start voxel', () => {
    const vol = synthetic({ shape: [6, 5, 4], channels: 2, dtype: 'int16' });
    const out = crop(vol, [1, 2, 1], [4, 3, 3]);
    expect(out.shape).toEqual([4, 3, 3]);
    expect(dtypeOf(out.data)).toBe('int16');
    expect(out.spacing).toEqual(vol.spacing);
    expect(out.direction).toEqual(vol.direction);
    expectWorld(out.origin, voxelToWorld(vol, [1, 2, 1]));
    for (let ch = 0; ch < 2; ch++)
      for (let k = 0; k < 3; k++)
        for (let j = 0; j < 3; j++)
          for (let i = 0; i < 4; i++) expect(at(out, i, j, k, ch)).toBe(at(vol, i + 1, j + 2, k + 1, ch));
    // last voxel, in world terms too
    expectWorld(voxelToWorld(out, [3, 2, 2]), voxelToWorld(vol, [4, 4, 3]));
    expect(out.history.at(-1)).toEqual({ op: 'crop', params: { start: [1, 2, 1], size: [4, 3, 3] } });
  });

  it('rejects boxes outside the volume and non-integer input', () => {
    const vol = synthetic({ shape: [6, 5, 4] });
    expectCode(() => crop(vol, [3, 0, 0], [4, 1, 1]), 'INVALID_ARGUMENT', 'size');
    expectCode(() => crop(vol, [-1, 0, 0], [1, 1, 1]), 'INVALID_ARGUMENT', 'start');
    expectCode(() => crop(vol, [0, 0, 0], [0, 1, 1]), 'INVALID_ARGUMENT', 'size');
    expectCode(() => crop(vol, [0.5, 0, 0], [1, 1, 1]), 'INVALID_ARGUMENT', 'start');
  });
});

describe('pad', () => {
  it('follows numpy semantics for constant, edge and reflect (1-D examples)', () => {
    const row = (mode: PadMode, before: number, after: number, value?: number): number[] => {
      const vol = createVolume({ data: Float32Array.from([1, 2, 3]), shape: [3, 1, 1] });
      return Array.from(pad(vol, [before, 0, 0], [after, 0, 0], { mode, value }).data);
    };
    expect(row('constant', 2, 1, 9)).toEqual([9, 9, 1, 2, 3, 9]);
    expect(row('edge', 2, 2)).toEqual([1, 1, 1, 2, 3, 3, 3]);
    expect(row('reflect', 2, 2)).toEqual([3, 2, 1, 2, 3, 2, 1]);
    // np.pad([1, 2, 3], 5, 'reflect')
    expect(row('reflect', 5, 5)).toEqual([2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]);
  });

  it('keeps the world position of every original voxel; origin moves back by before', () => {
    const vol = synthetic({ shape: [4, 3, 2], channels: 2 });
    const out = pad(vol, [1, 2, 0], [0, 1, 3], { mode: 'constant', value: -5 });
    expect(out.shape).toEqual([5, 6, 5]);
    expectWorld(out.origin, voxelToWorld(vol, [-1, -2, 0]));
    for (let ch = 0; ch < 2; ch++)
      for (let k = 0; k < 2; k++)
        for (let j = 0; j < 3; j++)
          for (let i = 0; i < 4; i++) {
            expect(at(out, i + 1, j + 2, k, ch)).toBe(at(vol, i, j, k, ch));
            expectWorld(voxelToWorld(out, [i + 1, j + 2, k]), voxelToWorld(vol, [i, j, k]));
          }
    expect(at(out, 0, 0, 0, 1)).toBe(-5);
    expect(at(out, 4, 5, 4, 1)).toBe(-5);
  });

  it.skipIf(PY_NUMPY === null)('matches numpy.pad in 3-D for every mode, with pads longer than the axis', () => {
    const vol = synthetic({ shape: [3, 4, 2], dtype: 'int16', value: (i, j, k) => i + 7 * j + 31 * k });
    const before = [4, 1, 3];
    const after = [2, 5, 1];
    const modes = ['constant', 'edge', 'reflect'] as const;
    const script = `import json,sys,numpy as np
a=np.array(json.load(sys.stdin),dtype=np.int16).reshape(2,4,3)
out=[]
for mode in ${JSON.stringify(modes)}:
    kw={'constant_values':3} if mode=='constant' else {}
    out.append(np.pad(a,((3,1),(1,5),(4,2)),mode=mode,**kw).ravel().tolist())
print(json.dumps(out))`;
    const ref = JSON.parse(execFileSync(PY_NUMPY as string, ['-c', script], { input: JSON.stringify(Array.from(vol.data)) }).toString()) as number[][];
    modes.forEach((mode, m) => expect(Array.from(pad(vol, before, after, { mode, value: 3 }).data), mode).toEqual(ref[m]));
  });

  it('rejects bad modes, values and pads', () => {
    const vol = synthetic();
    expectCode(() => pad(vol, [1, 1, 1], [1, 1, 1], { mode: 'wrap' as PadMode }), 'INVALID_ARGUMENT', 'mode');
    expectCode(() => pad(vol, [1, 1, 1], [1, 1, 1], { value: Number.NaN }), 'INVALID_ARGUMENT', 'value');
    expectCode(() => pad(vol, [1, -1, 1], [1, 1, 1]), 'INVALID_ARGUMENT', 'before');
  });
});

describe('cropOrPad', () => {
  it('crops and pads around the centre with the odd voxel at the start (TorchIO)', () => {
    const vol = synthetic({ shape: [5, 8, 4] });
    const out = cropOrPad(vol, [8, 5, 4], { value: -1 });
    expect(out.shape).toEqual([8, 5, 4]);
    // axis 0: pad 3 → 2 before, 1 after; axis 1: crop 3 → start 2
    expectWorld(out.origin, voxelToWorld(vol, [-2, 2, 0]));
    expect(at(out, 0, 0, 0)).toBe(-1);
    expect(at(out, 1, 0, 0)).toBe(-1);
    expect(at(out, 2, 0, 0)).toBe(at(vol, 0, 2, 0));
    expect(at(out, 6, 4, 3)).toBe(at(vol, 4, 6, 3));
    expect(at(out, 7, 4, 3)).toBe(-1);
    expect(out.history.at(-1)?.op).toBe('cropOrPad');
    expect(out.history).toHaveLength(1);
    const same = cropOrPad(vol, [5, 8, 4]);
    expect(Array.from(same.data)).toEqual(Array.from(vol.data));
    expect(same.data).not.toBe(vol.data);
  });
});

describe('boundingBox', () => {
  const vol = synthetic({ shape: [8, 7, 6], value: (i, j, k) => (i >= 2 && i <= 5 && j >= 1 && j <= 3 && k === 4 ? 10 + i : 0) });

  it('finds the foreground box by threshold or predicate, with margins clipped', () => {
    expect(boundingBox(vol)).toEqual({ start: [2, 1, 4], size: [4, 3, 1] });
    expect(boundingBox(vol, 13)).toEqual({ start: [4, 1, 4], size: [2, 3, 1] });
    expect(boundingBox(vol, (v) => v === 12)).toEqual({ start: [2, 1, 4], size: [1, 3, 1] });
    expect(boundingBox(vol, 0, { margin: 2 })).toEqual({ start: [0, 0, 2], size: [8, 6, 4] });
    expect(boundingBox(vol, 100)).toBeNull();
    const box = boundingBox(vol);
    if (!box) throw new Error('no box');
    const fg = crop(vol, box.start, box.size);
    expect(Array.from(fg.data).every((v) => v > 0)).toBe(true);
  });
});
