import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { applyNormalization, fitNormalization, invertNormalization, validateNormalization } from '../../volumes/normalize.ts';
import type { Normalization } from '../../volumes/normalize.ts';
import { createRng, normal } from '../../volumes/random.ts';
import { intensityStats } from '../../volumes/stats.ts';
import { createVolume } from '../../volumes/volume.ts';
import { synthetic } from './synthetic-volume.ts';

const F32_EPS = 2 ** -23;

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
    expect.unreachable('should throw');
  } catch (e) {
    expect((e as { shortCode?: string }).shortCode).toBe(code);
    expect(isVoxshiftError(e)).toBe(true);
  }
}

describe('ct-window normalization', () => {
  const norm: Normalization = { type: 'ct-window', lower: -1024, upper: 3000 };

  it('maps [lower, upper] linearly to [-1, 1] and clips outside', () => {
    const vol = createVolume({ data: Int16Array.from([-1024, 3000, 988, -2000, 4000, 0, -1023, 2999]), shape: [2, 2, 2], modality: 'CT', meta: { units: 'HU' } });
    const out = applyNormalization(vol, norm);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.data.slice(0, 5))).toEqual([-1, 1, 0, -1, 1]);
    expect(out.data[5]).toBeCloseTo((2 * 1024) / 4024 - 1, 6);
    expect(out.meta.units).toBe('normalized');
    expect(out.history.at(-1)).toEqual({ op: 'normalize', params: { type: 'ct-window', lower: -1024, upper: 3000 } });
    expect(vol.meta.units).toBe('HU');
  });

  it('inverts exactly (float32 rounding) inside the window; clipping is the only loss', () => {
    const rng = createRng(4);
    const data = new Float32Array(5000).map(() => -1500 + rng() * 5000);
    data[0] = -1024;
    data[1] = 3000;
    const vol = createVolume({ data, shape: [10, 20, 25], modality: 'CT' });
    const back = invertNormalization(applyNormalization(vol, norm), norm);
    expect(back.meta.units).toBe('HU');
    expect(back.history.map((h) => h.op)).toEqual(['normalize', 'denormalize']);
    const tol = 4024 * F32_EPS * 2;
    for (let i = 0; i < data.length; i++) {
      const x = data[i];
      const expected = Math.min(3000, Math.max(-1024, x));
      expect(Math.abs(back.data[i] - expected)).toBeLessThanOrEqual(tol);
    }
    expect(back.data[0]).toBe(-1024);
    expect(back.data[1]).toBe(3000);
  });
});

describe('mr-percentile normalization', () => {
  const rng = createRng(8);
  // MR-like: zero background, positive foreground with a long tail
  const vol = synthetic({
    shape: [30, 20, 10],
    value: (i, j) => (i > 5 && i < 25 && j > 3 && j < 17 ? Math.max(1, 300 + normal(rng, 0, 80) + (rng() < 0.01 ? 3000 : 0)) : 0),
  });

  it('fits low/high as foreground percentiles (values > threshold, or a mask)', () => {
    const norm = fitNormalization(vol, { type: 'mr-percentile', p: [0.5, 99.5] });
    if (norm.type !== 'mr-percentile') throw new Error('type');
    const fg = new Uint8Array(vol.data.length).map((_, i) => (vol.data[i] > 0 ? 1 : 0));
    const [lo, hi] = intensityStats(vol, fg).percentiles([0.5, 99.5]);
    expect(norm).toEqual({ type: 'mr-percentile', p: [0.5, 99.5], low: lo, high: hi });
    expect(lo).toBeGreaterThan(0);
    const mask = new Uint8Array(vol.data.length);
    mask.fill(1, 0, 3000);
    const masked = fitNormalization(vol, { type: 'mr-percentile' }, mask);
    const [mlo, mhi] = intensityStats(vol, mask).percentiles([0.5, 99.5]);
    expect(masked).toEqual({ type: 'mr-percentile', p: [0.5, 99.5], low: mlo, high: mhi });
    const thr = fitNormalization(vol, { type: 'mr-percentile', p: [1, 99], threshold: 250 });
    if (thr.type !== 'mr-percentile') throw new Error('type');
    expect(thr.low).toBeGreaterThan(250);
  });

  it('round-trips inside [low, high], clips outside, survives JSON (checkpoint manifests)', () => {
    const norm = validateNormalization(JSON.parse(JSON.stringify(fitNormalization(vol, { type: 'mr-percentile' }))));
    if (norm.type !== 'mr-percentile') throw new Error('type');
    const y = applyNormalization(vol, norm);
    expect(Math.min(...y.data)).toBe(-1);
    expect(Math.max(...y.data)).toBe(1);
    const back = invertNormalization(y, norm);
    expect(back.meta.units).toBe('arbitrary');
    const tol = (norm.high - norm.low) * F32_EPS * 2 + Math.abs(norm.high) * F32_EPS;
    for (let i = 0; i < vol.data.length; i++) {
      const expected = Math.min(norm.high, Math.max(norm.low, vol.data[i]));
      expect(Math.abs(back.data[i] - expected)).toBeLessThanOrEqual(tol);
    }
    expect(invertNormalization(y, norm, { units: 'HU' }).meta.units).toBe('HU');
  });

  it('refuses empty or constant foregrounds, label volumes and malformed objects', () => {
    expectCode(() => fitNormalization(synthetic({ value: () => 0 }), { type: 'mr-percentile' }), 'INVALID_VOLUME');
    expectCode(() => fitNormalization(synthetic({ value: () => 5 }), { type: 'mr-percentile' }), 'INVALID_VOLUME');
    expectCode(() => applyNormalization(synthetic({ kind: 'label', dtype: 'uint8' }), { type: 'ct-window', lower: 0, upper: 1 }), 'INVALID_ARGUMENT');
    const bad: unknown[] = [
      null,
      { type: 'z-score' },
      { type: 'ct-window', lower: 10, upper: 10 },
      { type: 'ct-window', lower: '0', upper: 10 },
      { type: 'mr-percentile', p: [99, 1], low: 0, high: 1 },
      { type: 'mr-percentile', p: [1, 99], low: 0, high: Number.NaN },
    ];
    for (const b of bad) expectCode(() => validateNormalization(b), 'INVALID_ARGUMENT');
    expect(fitNormalization(vol, { type: 'ct-window', lower: -100, upper: 100 })).toEqual({ type: 'ct-window', lower: -100, upper: 100 });
  });
});
