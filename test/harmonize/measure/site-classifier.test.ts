import { describe, expect, it } from 'vitest';
import { crossValidatedSiteAccuracy, histogramFeatures, HISTOGRAM_FEATURE_PERCENTILES, stratifiedFolds } from '../../../harmonize/measure/site-classifier.ts';
import { createRng, normal } from '../../../volumes/random.ts';

/** 3 sites × n subjects, 5 features; `shift` separates the sites on feature 0 (in units of the noise). */
function data(n: number, shift: number, seed = 1): { x: number[][]; y: string[] } {
  const rng = createRng(seed);
  const x: number[][] = [];
  const y: string[] = [];
  for (const [k, site] of ['a', 'b', 'c'].entries()) {
    for (let i = 0; i < n; i++) {
      x.push([normal(rng) + shift * k, normal(rng), normal(rng) * 100, normal(rng), 7]);
      y.push(site);
    }
  }
  return { x, y };
}

describe('crossValidatedSiteAccuracy', () => {
  it('finds separable sites (logistic regression ignores the noise features; nearest centroid less so)', () => {
    const { x, y } = data(12, 8);
    const r = crossValidatedSiteAccuracy(x, y);
    expect(r.kind).toBe('logistic');
    expect(r.accuracy).toBe(1);
    expect(r.chance).toBeCloseTo(1 / 3, 12);
    expect(r.confusion).toEqual([[12, 0, 0], [0, 12, 0], [0, 0, 12]]);
    expect(r.folds).toBe(5);
    const nc = crossValidatedSiteAccuracy(x, y, { kind: 'nearest-centroid' });
    expect(nc.accuracy).toBeGreaterThan(0.7);
    expect(nc.accuracy).toBeLessThan(1);
    expect(crossValidatedSiteAccuracy(x.map((r) => [r[0]]), y, { kind: 'nearest-centroid' }).accuracy).toBe(1);
  });

  it('stays near chance when the sites do not differ', () => {
    const accs = [1, 2, 3, 4, 5].map((seed) => crossValidatedSiteAccuracy(data(20, 0, seed).x, data(20, 0, seed).y, { seed }).accuracy);
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
    expect(mean).toBeGreaterThan(0.15);
    expect(mean).toBeLessThan(0.5);
  });

  it('is deterministic and stratifies folds by site', () => {
    const { x, y } = data(10, 1);
    expect(crossValidatedSiteAccuracy(x, y, { seed: 4 })).toEqual(crossValidatedSiteAccuracy(x, y, { seed: 4 }));
    const folds = stratifiedFolds(y, 5, 9);
    for (const site of ['a', 'b', 'c']) {
      const f = folds.filter((_, i) => y[i] === site).sort();
      expect(f).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }
  });

  it('refuses too few subjects per site for the folds, and one site', () => {
    const { x, y } = data(3, 1);
    expect(() => crossValidatedSiteAccuracy(x, y, { folds: 5 })).toThrow(/folds must be an integer in \[2, 3\]/);
    expect(() => crossValidatedSiteAccuracy([[1], [2]], ['a', 'a'])).toThrow(/at least 2 sites/);
  });
});

describe('histogramFeatures', () => {
  it('are the percentiles, mean and standard deviation', () => {
    const s = Float64Array.from({ length: 101 }, (_, i) => i);
    const f = histogramFeatures(s);
    expect(f).toHaveLength(HISTOGRAM_FEATURE_PERCENTILES.length + 2);
    expect(f.slice(0, HISTOGRAM_FEATURE_PERCENTILES.length)).toEqual([...HISTOGRAM_FEATURE_PERCENTILES]);
    expect(f[f.length - 2]).toBe(50);
    expect(f[f.length - 1]).toBeCloseTo(Math.sqrt(850), 10);
  });
});
