import { describe, expect, it } from 'vitest';
import { foregroundMask, maskedValues } from '../../harmonize/foreground.ts';
import { applyHistMatch, fitHistMatch } from '../../harmonize/histmatch.ts';
import { wasserstein1 } from '../../harmonize/measure/wasserstein.ts';
import { sortedCopy } from '../../harmonize/piecewise.ts';
import type { Volume } from '../../volumes/volume.ts';
import { heldOut, siteVolumes } from './helpers.ts';

function pooledReference(): Float64Array {
  const parts = siteVolumes().siteA.map((v) => maskedValues(v as Volume, foregroundMask(v as Volume, 'r')));
  return sortedCopy(Float64Array.from(parts.flatMap((p) => Array.from(p))));
}

describe('histogram matching', () => {
  it("stores the reference site's pooled foreground quantiles", () => {
    const model = fitHistMatch(siteVolumes(), 'siteA', { levels: 5 });
    const ref = pooledReference();
    expect(model.parameters.percentiles).toEqual([0, 25, 50, 75, 100]);
    expect(model.parameters.quantiles[0]).toBe(ref[0]);
    expect(model.parameters.quantiles[4]).toBe(ref[ref.length - 1]);
    const h = (ref.length - 1) / 2;
    expect(model.parameters.quantiles[2]).toBeCloseTo(ref[Math.floor(h)] + (h - Math.floor(h)) * (ref[Math.ceil(h)] - ref[Math.floor(h)]), 9);
  });

  it('brings every site’s foreground distribution onto the reference’s', () => {
    const model = fitHistMatch(siteVolumes(), 'siteA');
    const ref = pooledReference();
    let sd = 0;
    const mean = ref.reduce((a, v) => a + v, 0) / ref.length;
    for (const v of ref) sd += (v - mean) ** 2 / ref.length;
    sd = Math.sqrt(sd);
    for (const site of ['siteB', 'siteC']) {
      const input = heldOut(site).image;
      const mask = foregroundMask(input, site);
      const before = wasserstein1(sortedCopy(maskedValues(input, mask)), ref);
      const after = wasserstein1(sortedCopy(maskedValues(applyHistMatch(model, input, { mask }), mask)), ref);
      expect(before / sd).toBeGreaterThan(0.2);
      expect(after / sd).toBeLessThan(0.01);
    }
  });

  it('refuses bad levels and ranges', () => {
    expect(() => fitHistMatch(siteVolumes(), 'siteA', { levels: 1 })).toThrow(/levels must be an integer/);
    expect(() => fitHistMatch(siteVolumes(), 'siteA', { pLow: 60, pHigh: 40 })).toThrow(/pLow, pHigh/);
  });
});
