import { describe, expect, it } from 'vitest';
import { pairwiseWasserstein, wasserstein1 } from '../../../harmonize/measure/wasserstein.ts';

describe('wasserstein1', () => {
  it('matches scipy.stats.wasserstein_distance on small samples', () => {
    // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5.0
    expect(wasserstein1(Float64Array.from([0, 1, 3]), Float64Array.from([5, 6, 8]))).toBeCloseTo(5, 12);
    // scipy.stats.wasserstein_distance([0, 1], [0, 0, 3]) = 0.8333… = 5/6
    expect(wasserstein1(Float64Array.from([0, 1]), Float64Array.from([0, 0, 3]))).toBeCloseTo(5 / 6, 12);
    // Unequal sizes: [1, 2, 3, 4] vs [2.5]: mean |x − 2.5| = 1
    expect(wasserstein1(Float64Array.from([1, 2, 3, 4]), Float64Array.from([2.5]))).toBeCloseTo(1, 12);
  });
  it('is zero for equal samples, symmetric, and a shift moves it by the shift', () => {
    const a = Float64Array.from({ length: 101 }, (_, i) => Math.sqrt(i));
    const b = Float64Array.from({ length: 37 }, (_, i) => i / 3);
    expect(wasserstein1(a, a)).toBe(0);
    expect(wasserstein1(a, b)).toBeCloseTo(wasserstein1(b, a), 12);
    expect(wasserstein1(a, a.map((v) => v + 2.5))).toBeCloseTo(2.5, 12);
  });
  it('refuses empty samples and lists pairs in order', () => {
    expect(() => wasserstein1(new Float64Array(0), Float64Array.from([1]))).toThrow(/non-empty/);
    const pairs = pairwiseWasserstein(new Map([['a', Float64Array.from([0])], ['b', Float64Array.from([1])], ['c', Float64Array.from([3])]]));
    expect(pairs).toEqual({ 'a|b': 1, 'a|c': 3, 'b|c': 2 });
  });
});
