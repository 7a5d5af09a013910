import { describe, expect, it } from 'vitest';
import { applyMap, evenLevels, monotoneMap, percentilesOfSorted, sortedCopy } from '../../harmonize/piecewise.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';

describe('percentilesOfSorted', () => {
  it("matches numpy's linear percentiles", () => {
    const s = sortedCopy([4, 1, 3, 2, 10]);
    // numpy.percentile([1,2,3,4,10], [0, 25, 50, 90, 100]) = [1, 2, 3, 7.6, 10]
    const p = percentilesOfSorted(s, [0, 25, 50, 90, 100]);
    expect(p.slice(0, 3)).toEqual([1, 2, 3]);
    expect(p[3]).toBeCloseTo(7.6, 12);
    expect(p[4]).toBe(10);
  });
  it('refuses out-of-range levels and empty samples', () => {
    expect(() => percentilesOfSorted(sortedCopy([1, 2]), [101])).toThrow(/\[0, 100\]/);
    expect(() => percentilesOfSorted(new Float64Array(0), [50])).toThrow(/empty/);
  });
});

describe('monotoneMap / applyMap', () => {
  it('interpolates between knots and extends with the overall slope', () => {
    const m = monotoneMap([0, 10, 20], [100, 150, 300], 'x');
    const out = applyMap(m, [0, 5, 10, 15, 20, -10, 30]);
    // overall slope (300 − 100)/20 = 10
    expect(Array.from(out)).toEqual([100, 125, 150, 225, 300, 0, 400]);
  });
  it('merges equal landmarks into one knot at the mean target', () => {
    const m = monotoneMap([0, 5, 5, 10], [0, 40, 60, 100], 'x');
    expect(m).toEqual({ x: [0, 5, 10], y: [0, 50, 100] });
  });
  it('is monotone for monotone knots', () => {
    const m = monotoneMap(evenLevels(0, 1, 11).map((v) => v * v), evenLevels(0, 100, 11), 'x');
    const xs = Float64Array.from({ length: 500 }, (_, i) => -0.2 + (1.4 * i) / 499);
    const ys = applyMap(m, xs);
    for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeGreaterThanOrEqual(ys[i - 1]);
  });
  it('refuses a constant image (one distinct landmark)', () => {
    try {
      monotoneMap([3, 3, 3], [0, 1, 2], 'flat.nii');
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'INVALID_VOLUME')).toBe(true);
      expect((e as Error).message).toMatch(/flat\.nii.*constant/);
    }
  });
});
