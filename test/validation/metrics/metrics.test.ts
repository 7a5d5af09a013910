/** Hand-checked values, conventions and errors of the image and segmentation metrics. */
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Shape3, Vec3, Volume } from '../../../volumes/volume.ts';
import { createRng } from '../../../volumes/random.ts';
import { dice, dicePerLabel } from '../../../validation/metrics/dice.ts';
import { euclideanDistanceTransform } from '../../../validation/metrics/distance-transform.ts';
import { hausdorff95, percentileLinear, surfaceDistances } from '../../../validation/metrics/hausdorff.ts';
import { intensityErrors } from '../../../validation/metrics/intensity-errors.ts';
import { msSsim, downsample2 } from '../../../validation/metrics/ms-ssim.ts';
import { ncc } from '../../../validation/metrics/ncc.ts';
import { psnr } from '../../../validation/metrics/psnr.ts';
import { gaussianKernel, separableFilter } from '../../../validation/metrics/separable-filter.ts';
import { ssim } from '../../../validation/metrics/ssim.ts';
import { ssimPerSlice } from '../../../validation/metrics/ssim-per-slice.ts';
import { tissueMae } from '../../../validation/metrics/tissue-mae.ts';

function vol(data: ArrayLike<number>, shape: Shape3, spacing: Vec3 = [1, 1, 1], kind: 'intensity' | 'label' = 'intensity'): Volume<Float64Array> {
  return createVolume({ data: Float64Array.from(data), shape, spacing, kind });
}

function noiseVolume(shape: Shape3, seed: number, scale = 1000, offset = 0): Volume<Float64Array> {
  const rng = createRng(seed);
  const n = shape[0] * shape[1] * shape[2];
  // smooth-ish structure plus noise so SSIM is far from 0 and 1
  const d = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const i = p % shape[0];
    const j = Math.floor(p / shape[0]) % shape[1];
    d[p] = offset + scale * (Math.sin(i / 3) * Math.cos(j / 4) + 0.2 * (rng() - 0.5));
  }
  return vol(d, shape);
}

function expectError(fn: () => unknown, code: Parameters<typeof isVoxshiftError>[1], ...words: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isVoxshiftError(caught, code), String(caught)).toBe(true);
  for (const w of words) expect((caught as Error).message).toContain(w);
}

describe('exact Euclidean distance transform', () => {
  it('equals brute force on random sparse features with anisotropic spacing', () => {
    const rng = createRng(7);
    for (const [shape, spacing, density] of [
      [[13, 9, 7], [0.7, 1.3, 2.9], 0.03],
      [[1, 17, 5], [1, 0.5, 3], 0.1],
      [[20, 1, 1], [2, 1, 1], 0.1],
    ] as [Shape3, Vec3, number][]) {
      const n = shape[0] * shape[1] * shape[2];
      const f = new Uint8Array(n);
      for (let p = 0; p < n; p++) f[p] = rng() < density ? 1 : 0;
      f[n - 1] = 1;
      const d = euclideanDistanceTransform(f, shape, spacing);
      for (let p = 0; p < n; p++) {
        const c = [p % shape[0], Math.floor(p / shape[0]) % shape[1], Math.floor(p / (shape[0] * shape[1]))];
        let best = Infinity;
        for (let q = 0; q < n; q++) {
          if (!f[q]) continue;
          const e = [q % shape[0], Math.floor(q / shape[0]) % shape[1], Math.floor(q / (shape[0] * shape[1]))];
          best = Math.min(best, Math.hypot((c[0] - e[0]) * spacing[0], (c[1] - e[1]) * spacing[1], (c[2] - e[2]) * spacing[2]));
        }
        expect(Math.abs(d[p] - best)).toBeLessThan(1e-9);
      }
    }
  });

  it('is Infinity everywhere without a feature voxel', () => {
    const d = euclideanDistanceTransform(new Uint8Array(24), [2, 3, 4], [1, 1, 1]);
    expect([...d].every((v) => v === Infinity)).toBe(true);
  });
});

describe('separable Gaussian filter (scipy reflect mode)', () => {
  it('has 11 taps for σ = 1.5 (truncate 3.5), sums to 1, keeps constants and the mean of a reflected line', () => {
    const w = gaussianKernel(1.5);
    expect(w.length).toBe(11);
    expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 14);
    const c = separableFilter(new Float64Array(60).fill(3.25), [5, 4, 3], [w, w, w]);
    for (const v of c) expect(v).toBeCloseTo(3.25, 12);
    // a 3-voxel line with a 3-tap box and reflect borders: [a a b c c] → means
    const box = new Float64Array([1 / 3, 1 / 3, 1 / 3]);
    const r = separableFilter(Float64Array.from([3, 6, 12]), [3, 1, 1], [box, null, null]);
    expect([...r].map((v) => +v.toFixed(12))).toEqual([4, 7, 10]);
  });
});

describe('intensity errors, PSNR, NCC', () => {
  const shape: Shape3 = [4, 3, 2];
  const ref = vol(Array.from({ length: 24 }, (_, p) => p * 10 - 100), shape);

  it('MAE, mean error, RMSE by hand', () => {
    const pred = vol(ref.data.map((v, p) => v + (p % 2 === 0 ? 2 : -4)), shape);
    const e = intensityErrors(pred, ref, { mask: 'none' });
    expect(e).toEqual({ mae: 3, meanError: -1, rmse: Math.sqrt(10), count: 24 });
    const m = vol(ref.data.map((_, p) => (p % 2 === 0 ? 1 : 0)), shape, [1, 1, 1], 'label');
    expect(intensityErrors(pred, ref, { mask: m })).toEqual({ mae: 2, meanError: 2, rmse: 2, count: 12 });
  });

  it('PSNR = 10·log10(R²/MSE) after clipping to the range; identical → Infinity', () => {
    const pred = vol(ref.data.map((v) => v + 4), shape);
    expect(psnr(pred, ref, { mask: 'none' })).toBeCloseTo(10 * Math.log10((4024 * 4024) / 16), 12);
    expect(psnr(pred, ref, { mask: 'none', dataRange: [-200, 300] })).toBeCloseTo(10 * Math.log10(500 ** 2 / 16), 12);
    expect(psnr(ref, ref, { mask: 'none' })).toBe(Infinity);
    // beyond the range both clip to 3000: no error counted
    const hot = vol([5000, ...ref.data.slice(1)], shape);
    const hotter = vol([9000, ...ref.data.slice(1)], shape);
    expect(psnr(hotter, hot, { mask: 'none' })).toBe(Infinity);
    expectError(() => psnr(pred, ref, { dataRange: [5, 5] }), 'INVALID_ARGUMENT', 'dataRange');
  });

  it('NCC: 1 for an affine copy, −1 for a negated one, NaN for a constant image', () => {
    expect(ncc(vol(ref.data.map((v) => 3 * v + 5), shape), ref, { mask: 'none' })).toBeCloseTo(1, 14);
    expect(ncc(vol(ref.data.map((v) => -v), shape), ref, { mask: 'none' })).toBeCloseTo(-1, 14);
    expect(ncc(vol(new Float64Array(24).fill(7), shape), ref, { mask: 'none' })).toBeNaN();
  });
});

describe('SSIM and MS-SSIM', () => {
  const shape: Shape3 = [24, 22, 20];
  const ref = noiseVolume(shape, 1);
  const pred = vol(ref.data.map((v, p) => v + 150 * Math.sin(p)), shape);
  const worse = vol(ref.data.map((v, p) => v + 600 * Math.sin(p)), shape);

  it('identical images give 1; more noise gives less; symmetric in its inputs', () => {
    expect(ssim(ref, ref, { mask: 'none' }).ssim).toBeCloseTo(1, 12);
    const a = ssim(pred, ref, { mask: 'none' }).ssim;
    const b = ssim(worse, ref, { mask: 'none' }).ssim;
    expect(a).toBeLessThan(0.999);
    expect(b).toBeLessThan(a);
    expect(ssim(ref, pred, { mask: 'none' }).ssim).toBeCloseTo(a, 12);
    expect(msSsim(ref, ref)).toBeCloseTo(1, 12);
    const ma = msSsim(pred, ref, { weights: [0.2, 0.3, 0.5] });
    const mb = msSsim(worse, ref, { weights: [0.2, 0.3, 0.5] });
    expect(ma).toBeLessThan(1);
    expect(mb).toBeLessThan(ma);
  });

  it('MS-SSIM with one scale is SSIM; averaging downsample keeps the block means', () => {
    expect(msSsim(pred, ref, { weights: [1] })).toBeCloseTo(ssim(pred, ref, { mask: 'none' }).ssim, 12);
    const d = downsample2(Float64Array.from({ length: 27 }, (_, p) => p), [3, 3, 3]);
    expect([...d.shape]).toEqual([1, 1, 1]);
    expect(d.data[0]).toBe((0 + 1 + 3 + 4 + 9 + 10 + 12 + 13) / 8);
    const small = noiseVolume([24, 15, 20], 5);
    expectError(() => msSsim(small, small), 'INVALID_ARGUMENT', '16 voxels');
    expect(msSsim(small, small, { weights: [0.5, 0.5, 0.5, 0.5] })).toBeCloseTo(1, 12);
  });

  it('masked SSIM averages the SynthRAD map inside the mask; per-slice SSIM has one value per slice', () => {
    const m = vol(ref.data.map((_, p) => (p % 24 > 5 && p % 24 < 18 ? 1 : 0)), shape, [1, 1, 1], 'label');
    const s = ssim(pred, ref, { mask: m });
    expect(s.maskedSsim).not.toBeNull();
    expect(s.maskedSsim).toBeGreaterThan(0);
    expect(s.maskedSsim).toBeLessThan(1);
    const per = ssimPerSlice(pred, ref, { mask: m, axis: 1 });
    expect(per.values.length).toBe(22);
    expect(per.masked?.length).toBe(22);
    expectError(() => ssim(pred, ref, { mask: 'none', window: 'gaussian', sigma: 4 }), 'INVALID_ARGUMENT', 'window');
  });
});

describe('Dice and surface distances', () => {
  const shape: Shape3 = [6, 6, 8];
  const box = (x0: number, x1: number, z0: number, z1: number, label = 1): Volume<Float64Array> =>
    vol(
      Array.from({ length: 288 }, (_, p) => {
        const i = p % 6;
        const j = Math.floor(p / 6) % 6;
        const k = Math.floor(p / 36);
        return i >= x0 && i <= x1 && j >= 1 && j <= 4 && k >= z0 && k <= z1 ? label : 0;
      }),
      shape,
      [1, 1, 2.5],
      'label',
    );
  const empty = vol(new Float64Array(288), shape, [1, 1, 2.5], 'label');

  it('Dice by hand, per label, and the empty-mask conventions', () => {
    const a = box(1, 4, 1, 4);
    const b = box(1, 4, 3, 6);
    expect(dice(a, b)).toBeCloseTo((2 * 32) / (64 + 64), 14);
    expect(dice(empty, empty)).toBe(1);
    expect(dice(a, empty)).toBe(0);
    const per = dicePerLabel(box(1, 4, 1, 4, 3), box(1, 4, 1, 4, 3));
    expect([...per.entries()]).toEqual([[3, 1]]);
  });

  it('HD95 in mm with anisotropic spacing; one empty mask → Infinity, both empty → 0', () => {
    const a = box(1, 4, 1, 4);
    const b = box(1, 4, 3, 6);
    // every surface voxel of either box is 0 or 2 slices (5 mm) from the other's surface
    const d = surfaceDistances(a, b);
    expect(d.hausdorff).toBeCloseTo(5, 12);
    expect(hausdorff95(a, a)).toBe(0);
    expect(hausdorff95(a, empty)).toBe(Infinity);
    expect(hausdorff95(empty, empty)).toBe(0);
    const single = (k: number): Volume => vol(Array.from({ length: 288 }, (_, p) => (p === 1 + 6 + 36 * k ? 1 : 0)), shape, [1, 1, 2.5], 'label');
    expect(hausdorff95(single(1), single(4))).toBeCloseTo(7.5, 12);
  });

  it('percentiles interpolate linearly as numpy', () => {
    expect(percentileLinear(Float64Array.from([4, 1, 3, 2]), 95)).toBeCloseTo(3.85, 12);
  });
});

describe('per-tissue MAE', () => {
  it('one row per label by hand, with names and ignored labels', () => {
    const shape: Shape3 = [4, 1, 1];
    const ref = vol([0, 10, 20, 30], shape);
    const pred = vol([1, 14, 18, 30], shape);
    const labels = vol([0, 1, 1, 2], shape, [1, 1, 1], 'label');
    expect(tissueMae(pred, ref, labels, { names: { 1: 'soft' } })).toEqual([
      { label: 0, count: 1, mae: 1, meanError: 1 },
      { label: 1, name: 'soft', count: 2, mae: 3, meanError: 1 },
      { label: 2, count: 1, mae: 0, meanError: 0 },
    ]);
    expect(tissueMae(pred, ref, labels, { ignore: [0] }).map((r) => r.label)).toEqual([1, 2]);
  });
});

describe('input errors', () => {
  const shape: Shape3 = [12, 12, 12];
  const ref = noiseVolume(shape, 2);

  it('GEOMETRY_MISMATCH names both inputs for a different shape or affine', () => {
    const other = noiseVolume([12, 12, 11], 3);
    expectError(() => intensityErrors(other, ref, { mask: 'none' }), 'GEOMETRY_MISMATCH', 'pred', 'ref', '12×12×11');
    const moved = createVolume({ data: ref.data, shape, origin: [0, 0, 1] });
    expectError(() => ssim(moved, ref), 'GEOMETRY_MISMATCH', 'pred', 'ref');
    const mask = createVolume({ data: new Uint8Array(12 * 12 * 12).fill(1), shape, spacing: [1, 1, 2] });
    expectError(() => psnr(ref, ref, { mask }), 'GEOMETRY_MISMATCH', 'mask', 'ref');
    expectError(() => dice(other, ref), 'GEOMETRY_MISMATCH', 'pred', 'ref');
    expectError(() => hausdorff95(other, ref), 'GEOMETRY_MISMATCH');
  });

  it('NON_FINITE_VALUES for NaN or Inf, naming the voxel', () => {
    const bad = vol(ref.data.map((v, p) => (p === 13 ? NaN : v)), shape);
    expectError(() => intensityErrors(bad, ref, { mask: 'none' }), 'NON_FINITE_VALUES', 'pred', '[1, 1, 0]');
    const inf = vol(ref.data.map((v, p) => (p === 0 ? Infinity : v)), shape);
    expectError(() => ssim(ref, inf, { mask: 'none' }), 'NON_FINITE_VALUES', 'ref');
  });

  it('INVALID_ARGUMENT for an empty mask and for multi-channel volumes', () => {
    const none = createVolume({ data: new Uint8Array(12 ** 3), shape, kind: 'label' });
    expectError(() => psnr(ref, ref, { mask: none }), 'INVALID_ARGUMENT', 'mask is empty');
    expectError(() => ncc(ref, ref, { mask: none }), 'INVALID_ARGUMENT', 'empty');
    const nanMask = createVolume({ data: new Float32Array(12 ** 3).fill(NaN), shape });
    expectError(() => psnr(ref, ref, { mask: nanMask }), 'NON_FINITE_VALUES', 'mask');
    const two = createVolume({ data: new Float64Array(2 * 12 ** 3), shape, channels: 2 });
    expectError(() => intensityErrors(two, two, { mask: 'none' }), 'INVALID_ARGUMENT', 'one channel');
  });
});
