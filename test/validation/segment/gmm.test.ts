/** Intensity mixtures (optimal 1-D k-means, EM with partial volume) and the polynomial bias field. */
import { describe, expect, it } from 'vitest';
import { createRng, normal } from '../../../volumes/random.ts';
import type { Shape3 } from '../../../volumes/volume.ts';
import { evaluateLogBias, fitLogBias, monomials } from '../../../validation/segment/bias-field.ts';
import { classOf, fitPvMixture, kmeans1dOptimal, midpointThresholds, weightedHistogram } from '../../../validation/segment/gmm.ts';

describe('kmeans1dOptimal', () => {
  it('finds the partition of least within-cluster sum of squares (brute force over all cuts)', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 5; trial++) {
      const bins = 12;
      const counts = new Float64Array(bins).map(() => Math.floor(rng() * 20));
      counts[0] = 3;
      const h = { centers: Float64Array.from({ length: bins }, (_, b) => b * 1.5 + (b > 6 ? 4 : 0)), counts };
      const k = 3;
      const cost = (a: number, b: number): number => {
        let w = 0;
        let s = 0;
        let s2 = 0;
        for (let i = a; i <= b; i++) {
          w += counts[i];
          s += counts[i] * h.centers[i];
          s2 += counts[i] * h.centers[i] ** 2;
        }
        return w === 0 ? 0 : s2 - (s * s) / w;
      };
      let best = Infinity;
      for (let c1 = 1; c1 < bins; c1++) for (let c2 = c1 + 1; c2 < bins; c2++) best = Math.min(best, cost(0, c1 - 1) + cost(c1, c2 - 1) + cost(c2, bins - 1));
      const ranges = kmeans1dOptimal(h, k);
      expect(ranges).toHaveLength(3);
      const got = ranges.reduce((acc, [a, b]) => acc + cost(a, b), 0);
      expect(got).toBeCloseTo(best, 6);
      expect(ranges[0][0]).toBe(0);
    }
  });
});

describe('fitPvMixture', () => {
  it('recovers tissue means despite partial-volume voxels between them, deterministically', () => {
    const rng = createRng(5);
    const means = [5, 140, 210, 620];
    const values: number[] = [];
    const counts = [3000, 4000, 12000, 5000];
    means.forEach((m, c) => {
      for (let i = 0; i < counts[c]; i++) values.push(normal(rng, m, m === 5 ? 3 : 8));
    });
    // partial volume: 3000 voxels mixing soft tissue and fat, 1500 mixing void and soft tissue
    for (let i = 0; i < 3000; i++) {
      const a = rng();
      values.push(normal(rng, a * 210 + (1 - a) * 620, 8));
    }
    for (let i = 0; i < 1500; i++) {
      const a = rng();
      values.push(normal(rng, a * 5 + (1 - a) * 210, 5));
    }
    const h = weightedHistogram(values, 0, 700, 256);
    const fit = fitPvMixture(h, 4);
    fit.pure.forEach((g, c) => expect(Math.abs(g.mean - means[c])).toBeLessThan(0.05 * means[c] + 4));
    expect(fit.partialVolume.reduce((s, p) => s + p.weight, 0)).toBeGreaterThan(0.05);
    expect(fitPvMixture(h, 4)).toEqual(fit);
    const t = midpointThresholds(fit.pure);
    expect(t).toHaveLength(3);
    expect(classOf(0, t)).toBe(0);
    expect(classOf(200, t)).toBe(2);
    expect(classOf(10_000, t)).toBe(3);
  });

  it('rejects k < 2 and data with too few distinct values', () => {
    const h = weightedHistogram([1, 1, 1, 2], 0, 10, 16);
    expect(() => fitPvMixture(h, 1)).toThrow(/k ≥ 2/);
    expect(() => fitPvMixture(h, 5)).toThrow(/too few distinct values/);
  });
});

describe('polynomial log-bias field', () => {
  it('fits a known degree-2 field exactly and evaluates it', () => {
    const shape: Shape3 = [9, 7, 5];
    const terms = monomials(2);
    expect(terms).toHaveLength(10);
    const coef = [0.1, 0.2, -0.1, 0.05, 0.03, 0, -0.02, 0.01, 0.04, -0.06];
    const n = shape[0] * shape[1] * shape[2];
    const index = Int32Array.from({ length: n }, (_, p) => p);
    const value = (p: number): number => {
      const x = [(2 * (p % 9)) / 8 - 1, (2 * (Math.floor(p / 9) % 7)) / 6 - 1, (2 * Math.floor(p / 63)) / 4 - 1];
      return terms.reduce((s, [a, b, c], t) => s + coef[t] * x[0] ** a * x[1] ** b * x[2] ** c, 0);
    };
    const residual = Float64Array.from(index, value);
    const fit = fitLogBias(shape, 2, index, residual, new Float64Array(n).fill(1), n);
    fit.coefficients.forEach((c, t) => expect(c).toBeCloseTo(coef[t], 7));
    const out = new Float64Array(n);
    evaluateLogBias(fit, shape, index, out);
    out.forEach((v, p) => expect(v).toBeCloseTo(residual[p], 7));
  });
});
