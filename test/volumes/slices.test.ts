import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { setSlice, sliceAt, sliceCount, stackSlices } from '../../volumes/slices.ts';
import type { Axis } from '../../volumes/slices.ts';
import { dtypeOf } from '../../volumes/volume.ts';
import { synthetic } from './synthetic-volume.ts';

const value = (i: number, j: number, k: number, ch: number): number => i + 10 * j + 100 * k + 1000 * ch;

describe('sliceAt', () => {
  const vol = synthetic({ shape: [5, 4, 3], spacing: [0.7, 1.3, 2.5], channels: 2, dtype: 'int16', value });

  it('uses the documented in-plane order for each axis', () => {
    const z = sliceAt(vol, 2, 1);
    expect([z.width, z.height, z.channels, z.axis, z.index]).toEqual([5, 4, 2, 2, 1]);
    expect(z.spacing).toEqual([0.7, 1.3]);
    const y = sliceAt(vol, 1, 3);
    expect([y.width, y.height]).toEqual([5, 3]);
    expect(y.spacing).toEqual([0.7, 2.5]);
    const x = sliceAt(vol, 0, 4);
    expect([x.width, x.height]).toEqual([4, 3]);
    expect(x.spacing).toEqual([1.3, 2.5]);
    expect(dtypeOf(x.data)).toBe('int16');
    for (let ch = 0; ch < 2; ch++) {
      for (let r = 0; r < 4; r++) for (let c = 0; c < 5; c++) expect(z.data[ch * 20 + c + 5 * r]).toBe(value(c, r, 1, ch));
      for (let r = 0; r < 3; r++) for (let c = 0; c < 5; c++) expect(y.data[ch * 15 + c + 5 * r]).toBe(value(c, 3, r, ch));
      for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(x.data[ch * 12 + c + 4 * r]).toBe(value(4, c, r, ch));
    }
  });

  it('rebuilds the volume from all slices along every axis (stackSlices ∘ sliceAt = id)', () => {
    for (const axis of [0, 1, 2] as Axis[]) {
      expect(sliceCount(vol, axis)).toBe(vol.shape[axis]);
      const slices = Array.from({ length: sliceCount(vol, axis) }, (_, i) => sliceAt(vol, axis, i));
      const back = stackSlices(slices, vol, axis);
      expect(Array.from(back.data)).toEqual(Array.from(vol.data));
      expect(back.data[back.data.length - 1]).toBe(value(4, 3, 2, 1));
      expect(back.shape).toEqual(vol.shape);
      expect(back.origin).toEqual(vol.origin);
      expect(back.direction).toEqual(vol.direction);
      expect(back.channels).toBe(2);
      expect(back.history.at(-1)?.op).toBe('stackSlices');
    }
  });

  it('stacks float slices into a float volume and setSlice writes in place', () => {
    const slices = Array.from({ length: 3 }, (_, k) => ({ data: new Float32Array(5 * 4 * 2).fill(k + 0.5) }));
    const out = stackSlices(slices, vol, 2);
    expect(dtypeOf(out.data)).toBe('float32');
    expect(out.data[0]).toBe(0.5);
    expect(out.data[out.data.length - 1]).toBe(2.5);
    setSlice(out, 0, 2, { data: new Float32Array(4 * 3 * 2).fill(-7) });
    expect(sliceAt(out, 0, 2).data.every((v) => v === -7)).toBe(true);
    expect(sliceAt(out, 0, 1).data.every((v) => v !== -7)).toBe(true);
  });

  it('rejects bad axes, indices and slice sizes', () => {
    const cases: [() => unknown, string][] = [
      [() => sliceAt(vol, 3 as Axis, 0), 'axis'],
      [() => sliceAt(vol, 2, 3), 'index'],
      [() => sliceAt(vol, 0, -1), 'index'],
      [() => setSlice(vol, 2, 0, { data: new Int16Array(3) }), 'slice'],
      [() => stackSlices([sliceAt(vol, 2, 0)], vol, 2), 'slices'],
    ];
    for (const [f, param] of cases) {
      try {
        f();
        expect.unreachable(param);
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as { param?: string }).param).toBe(param);
      }
    }
  });
});
