/** prepareDomainVolume checks and normalisation, default specs and the reference normalization. */
import { describe, expect, it } from 'vitest';
import { defaultNormalizationSpec, prepareDomainVolume, referenceNormalization } from '../../../models3d/data/domain-volume.ts';
import { bodyMask } from '../../../validation/masks.ts';
import { DEFAULT_CT_WINDOW, fitNormalization } from '../../../volumes/normalize.ts';
import type { Normalization } from '../../../volumes/normalize.ts';
import { createRng, normal } from '../../../volumes/random.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Modality, Volume } from '../../../volumes/volume.ts';
import { thrown } from './fixtures.ts';

const SHAPE: [number, number, number] = [16, 14, 6];

/** A body (ellipse in every slice) with values `inside(i, j, k)`, background `outside`. */
function bodyVolume(modality: Modality, inside: (i: number, j: number, k: number) => number, outside: number, noise = 0): Volume {
  const [nx, ny, nz] = SHAPE;
  const data = new Float32Array(nx * ny * nz);
  const rng = createRng(4);
  let p = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, p++) {
        const inBody = ((i - 7.5) / 6) ** 2 + ((j - 6.5) / 5) ** 2 <= 1;
        data[p] = (inBody ? inside(i, j, k) : outside) + (noise > 0 ? Math.abs(normal(rng, 0, noise)) : 0);
      }
  return createVolume({ data, shape: SHAPE, spacing: [0.9, 0.9, 3], modality, meta: { units: modality === 'CT' ? 'HU' : 'arbitrary' } });
}

describe('defaultNormalizationSpec', () => {
  it('CT gets the default HU window, anything else robust percentiles', () => {
    expect(defaultNormalizationSpec('CT')).toEqual(DEFAULT_CT_WINDOW);
    for (const m of ['MR', 'PT', 'unknown'] as Modality[]) expect(defaultNormalizationSpec(m)).toEqual({ type: 'mr-percentile', p: [0.5, 99.5] });
  });
});

describe('prepareDomainVolume', () => {
  it('CT: window to [−1, 1], clamped, with the body mask as foreground', () => {
    // body spans −1500..5000 HU, beyond the −1024..3000 window on both sides
    const ct = bodyVolume('CT', (i, j, k) => -1500 + 6500 * ((i + 16 * j + 224 * k) / (16 * 14 * 6)), -1000);
    const d = prepareDomainVolume(ct, defaultNormalizationSpec('CT'), 'ct-1');
    expect(d.name).toBe('ct-1');
    expect(d.shape).toEqual(SHAPE);
    expect(d.spacing).toEqual([0.9, 0.9, 3]);
    expect(d.source).toBe(ct);
    expect(d.normalization).toEqual(DEFAULT_CT_WINDOW);
    expect(d.data).toBeInstanceOf(Float32Array);
    let min = Infinity;
    let max = -Infinity;
    for (const x of d.data) {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    expect([min, max]).toEqual([-1, 1]);
    for (let p = 0; p < d.data.length; p++) {
      const x = ct.data[p];
      if (x > -1024 && x < 3000) expect(d.data[p]).toBeCloseTo((2 * (x + 1024)) / 4024 - 1, 6);
    }
    expect(Array.from(d.foreground)).toEqual(Array.from(bodyMask(ct).data));
    expect(d.foreground.reduce((s, x) => s + x, 0)).toBeGreaterThan(0);
  });

  it('MR: percentiles of the body (not of the background noise), clamped to [−1, 1]', () => {
    const mr = bodyVolume('MR', (i, j) => 200 + 10 * i + 5 * j, 0, 8);
    const d = prepareDomainVolume(mr, defaultNormalizationSpec('MR'), 'mr-1');
    expect(d.normalization).toEqual(fitNormalization(mr, { type: 'mr-percentile', p: [0.5, 99.5] }, bodyMask(mr).data));
    expect(d.normalization.type === 'mr-percentile' && d.normalization.low).toBeGreaterThan(150);
    expect(d.data.every((x) => x >= -1 && x <= 1)).toBe(true);
    expect(d.data.includes(-1)).toBe(true);
    expect(d.data.includes(1)).toBe(true);
    // an explicit threshold keeps fitNormalization's own foreground rule
    const t = prepareDomainVolume(mr, { type: 'mr-percentile', threshold: 0 }, 'mr-1');
    expect(t.normalization).toEqual(fitNormalization(mr, { type: 'mr-percentile', threshold: 0 }));
    expect(t.normalization).not.toEqual(d.normalization);
  });

  it('rejects NaN and infinite voxels naming the volume and the voxel', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const mr = bodyVolume('MR', () => 100, 0);
      (mr.data as Float32Array)[3 + 16 * (2 + 14 * 1)] = bad;
      const e = thrown(() => prepareDomainVolume(mr, defaultNormalizationSpec('MR'), 'subject-7/t2'));
      expect(e.shortCode).toBe('NON_FINITE_VALUES');
      expect(e.message).toContain('subject-7/t2');
      expect(e.message).toContain('[3, 2, 1]');
      expect(e.message).toContain(String(bad));
    }
  });

  it('rejects label and multi-channel volumes naming the volume', () => {
    const labels = createVolume({ data: new Uint8Array(8), shape: [2, 2, 2], kind: 'label' });
    const e1 = thrown(() => prepareDomainVolume(labels, defaultNormalizationSpec('MR'), 'seg-3'));
    expect(e1.shortCode).toBe('INVALID_VOLUME');
    expect(e1.message).toMatch(/seg-3.*label/);
    const two = createVolume({ data: new Float32Array(16), shape: [2, 2, 2], channels: 2 });
    const e2 = thrown(() => prepareDomainVolume(two, defaultNormalizationSpec('MR'), 'dwi-1'));
    expect(e2.shortCode).toBe('INVALID_VOLUME');
    expect(e2.message).toMatch(/dwi-1.*2 channels/);
    expect(thrown(() => prepareDomainVolume(two, defaultNormalizationSpec('MR'), '')).param).toBe('name');
  });

  it('a volume that cannot be normalised is an error naming it', () => {
    const flat = createVolume({ data: new Float32Array(SHAPE[0] * SHAPE[1] * SHAPE[2]).fill(5), shape: SHAPE, modality: 'MR' });
    const e = thrown(() => prepareDomainVolume(flat, defaultNormalizationSpec('MR'), 'flat-mr'));
    expect(e.shortCode).toBe('INVALID_VOLUME');
    expect(e.message).toMatch(/^flat-mr: /);
  });
});

describe('referenceNormalization', () => {
  const mr = (low: number, high: number): Normalization => ({ type: 'mr-percentile', p: [0.5, 99.5], low, high });

  it('CT: all windows equal gives that window, different windows are an error', () => {
    expect(referenceNormalization([DEFAULT_CT_WINDOW, { ...DEFAULT_CT_WINDOW }])).toEqual(DEFAULT_CT_WINDOW);
    const e = thrown(() => referenceNormalization([DEFAULT_CT_WINDOW, { type: 'ct-window', lower: -1000, upper: 2000 }]));
    expect(e.shortCode).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('norms[1]');
  });

  it('MR: median low and high (odd and even counts)', () => {
    expect(referenceNormalization([mr(10, 500), mr(30, 900), mr(20, 700)])).toEqual(mr(20, 700));
    expect(referenceNormalization([mr(10, 500), mr(30, 900), mr(20, 700), mr(0, 100)])).toEqual(mr(15, 600));
  });

  it('refuses mixed types, different percentiles and an empty list', () => {
    expect(thrown(() => referenceNormalization([mr(1, 2), DEFAULT_CT_WINDOW])).message).toContain('mix');
    expect(thrown(() => referenceNormalization([mr(1, 2), { type: 'mr-percentile', p: [1, 99], low: 1, high: 2 }])).message).toContain('percentiles');
    expect(thrown(() => referenceNormalization([])).param).toBe('norms');
  });
});
