import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { createRng, normal } from '../../volumes/random.ts';
import { assertFinite, histogram, intensityStats } from '../../volumes/stats.ts';
import { allocate, createVolume } from '../../volumes/volume.ts';
import type { DType, Volume } from '../../volumes/volume.ts';
import { pythonWith } from './synthetic-volume.ts';

const PY_NUMPY = pythonWith('numpy');

/** numpy's default ('linear') percentile from sorted values: the reference the fast paths must match exactly. */
function sortPercentile(s: number[], p: number): number {
  const h = ((s.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const f = h - lo;
  const a = s[lo];
  const b = s[Math.min(s.length - 1, lo + 1)];
  return f === 0 ? a : a + f * (b - a);
}

function randomVolume(dtype: DType, shape: [number, number, number], gen: () => number, channels = 1): Volume {
  const data = allocate(dtype, shape[0] * shape[1] * shape[2] * channels);
  for (let i = 0; i < data.length; i++) data[i] = gen();
  return createVolume({ data, shape, channels });
}

const PS = [0, 0.5, 1, 2.5, 10, 25, 33.3, 50, 75, 90, 99, 99.5, 100];

describe('intensityStats', () => {
  it('matches a sort-based reference exactly for integer and float data, with and without a mask', () => {
    const rng = createRng(21);
    const cases: [DType, () => number][] = [
      ['uint8', () => Math.floor(rng() * 256)],
      ['int16', () => Math.round(normal(rng, 40, 400))],
      ['int32', () => Math.floor((rng() - 0.5) * 2 ** 30)],
      ['float32', () => normal(rng, 100, 30)],
      ['float64', () => Math.exp(normal(rng, 0, 3))],
      // a spike of identical background values plus a huge outlier: most values share one bin
      ['float32', () => (rng() < 0.7 ? 0 : rng() < 0.999 ? rng() * 1e-3 : 1e9)],
    ];
    for (const [dtype, gen] of cases) {
      const vol = randomVolume(dtype, [23, 17, 11], gen, 2);
      const mask = new Uint8Array(23 * 17 * 11).map(() => (rng() < 0.6 ? 1 : 0));
      for (const m of [undefined, mask]) {
        const values: number[] = [];
        for (let ch = 0; ch < 2; ch++) for (let p = 0; p < mask.length; p++) if (!m || m[p]) values.push(vol.data[ch * mask.length + p]);
        const st = intensityStats(vol, m);
        expect(st.count).toBe(values.length);
        expect(st.min).toBe(values.reduce((a, b) => Math.min(a, b)));
        expect(st.max).toBe(values.reduce((a, b) => Math.max(a, b)));
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
        expect(st.mean).toBeCloseTo(mean, 6);
        expect(Math.abs(st.std - std)).toBeLessThanOrEqual(1e-9 * Math.max(1, std));
        const ours = st.percentiles(PS);
        const sorted = Float64Array.from(values).sort();
        PS.forEach((p, i) => expect(ours[i], `${dtype} p${p}`).toBe(sortPercentile(Array.from(sorted), p)));
      }
    }
  });

  it('skips NaN and ±Inf and counts them; empty selections give NaN', () => {
    const vol = createVolume({ data: Float32Array.from([1, Number.NaN, 3, Infinity, -Infinity, 5, 7, 9]), shape: [2, 2, 2] });
    const st = intensityStats(vol);
    expect([st.count, st.nonFinite, st.min, st.max, st.mean]).toEqual([5, 3, 1, 9, 5]);
    expect(st.percentiles([50, 25])).toEqual([5, 3]);
    const none = intensityStats(vol, new Uint8Array(8));
    expect(none.count).toBe(0);
    expect(Number.isNaN(none.mean) && Number.isNaN(none.percentiles([50])[0])).toBe(true);
    const constant = intensityStats(createVolume({ data: new Int16Array(8).fill(-3), shape: [2, 2, 2] }));
    expect(constant.percentiles([0, 50, 100])).toEqual([-3, -3, -3]);
  });

  it.skipIf(PY_NUMPY === null)('agrees with numpy.percentile and numpy.histogram', () => {
    const rng = createRng(2);
    const vol = randomVolume('float32', [30, 20, 10], () => normal(rng, 0, 1) ** 3);
    const ps = [0.5, 5, 50, 95, 99.5];
    const script = `import json,sys,numpy as np
a=np.array(json.load(sys.stdin),dtype=np.float32).astype(np.float64)
h,e=np.histogram(a,bins=17)
print(json.dumps({'p':np.percentile(a,${JSON.stringify(ps)}).tolist(),'h':h.tolist(),'e':e.tolist()}))`;
    const ref = JSON.parse(execFileSync(PY_NUMPY as string, ['-c', script], { input: JSON.stringify(Array.from(vol.data)) }).toString()) as {
      p: number[];
      h: number[];
      e: number[];
    };
    const ours = intensityStats(vol).percentiles(ps);
    ours.forEach((v, i) => expect(Math.abs(v - ref.p[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
    const h = histogram(vol, 17);
    expect(Array.from(h.counts)).toEqual(ref.h);
    Array.from(h.edges).forEach((v, i) => expect(v).toBeCloseTo(ref.e[i], 10));
  });

  it('rejects percentiles outside [0, 100] and masks of the wrong size', () => {
    const vol = randomVolume('uint8', [2, 2, 2], () => 1);
    for (const f of [() => intensityStats(vol).percentiles([101]), () => intensityStats(vol, new Uint8Array(7))]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });
});

describe('histogram', () => {
  it('counts equal-width bins with the right edge in the last bin, honouring range and mask', () => {
    const vol = createVolume({ data: Int16Array.from([0, 1, 2, 3, 4, 5, 6, 10]), shape: [8, 1, 1] });
    const h = histogram(vol, 5, [0, 10]);
    expect(Array.from(h.counts)).toEqual([2, 2, 2, 1, 1]);
    expect(Array.from(h.edges)).toEqual([0, 2, 4, 6, 8, 10]);
    // edges 2, 3.5, 5: {2, 3} and {4, 5}
    expect(Array.from(histogram(vol, 2, [2, 5]).counts)).toEqual([2, 2]);
    const masked = histogram(vol, 5, [0, 10], Uint8Array.from([0, 0, 1, 1, 1, 1, 0, 0]));
    expect(Array.from(masked.counts)).toEqual([0, 2, 2, 0, 0]);
    const constant = histogram(createVolume({ data: new Float32Array(8).fill(2), shape: [2, 2, 2] }), 2);
    expect(constant.range).toEqual([1.5, 2.5]);
    expect(Array.from(constant.counts)).toEqual([0, 8]);
  });
});

describe('assertFinite', () => {
  it('passes finite and integer volumes and reports the count and first bad voxel', () => {
    expect(() => assertFinite(createVolume({ data: new Int16Array(8), shape: [2, 2, 2] }))).not.toThrow();
    expect(() => assertFinite(createVolume({ data: new Float32Array(8), shape: [2, 2, 2] }))).not.toThrow();
    const data = new Float32Array(16);
    data[13] = Number.NaN;
    data[15] = -Infinity;
    const vol = createVolume({ data, shape: [2, 2, 2], channels: 2, meta: { source: 'scan.nii.gz' } });
    try {
      assertFinite(vol, 'input');
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'NON_FINITE_VALUES')).toBe(true);
      const err = e as { param?: string; file?: string; details?: Record<string, unknown>; code: string };
      expect(err.code).toBe('VOXSHIFT_E_NON_FINITE_VALUES');
      expect(err.param).toBe('input');
      expect(err.file).toBe('scan.nii.gz');
      expect(err.details).toMatchObject({ count: 2, firstIndex: 13, firstVoxel: [1, 0, 1], channel: 1, firstValue: 'NaN' });
    }
  });
});
