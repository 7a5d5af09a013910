import { describe, expect, it } from 'vitest';
import { foregroundMask } from '../../harmonize/foreground.ts';
import { applyNyul, fitNyul, landmarksOf, NYUL_PERCENTILES } from '../../harmonize/nyul.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { heldOut, siteVolumes } from './helpers.ts';

describe('Nyúl–Udupa', () => {
  it('learns an ascending standard scale in reference units and maps each landmark onto it', () => {
    const model = fitNyul(siteVolumes(), 'siteA');
    const { percentiles, standard } = model.parameters;
    expect(percentiles).toEqual([...NYUL_PERCENTILES]);
    for (let k = 1; k < standard.length; k++) expect(standard[k]).toBeGreaterThan(standard[k - 1]);
    const refLandmarks = siteVolumes().siteA.map((v) => {
      const vol = v as ReturnType<typeof heldOut>['image'];
      return landmarksOf(vol, foregroundMask(vol, 'r'), percentiles);
    });
    // s1, s2 are the reference images' mean pc1 and pc2.
    expect(standard[0]).toBeCloseTo((refLandmarks[0][0] + refLandmarks[1][0]) / 2, 9);
    expect(standard[standard.length - 1]).toBeCloseTo((refLandmarks[0][10] + refLandmarks[1][10]) / 2, 9);
    for (const site of ['siteB', 'siteC']) {
      const input = heldOut(site).image;
      const mask = foregroundMask(input, site);
      const out = applyNyul(model, input, { mask });
      const after = landmarksOf(out, mask, percentiles);
      // The map is linear between landmarks, so the output's landmarks sit on the standard scale
      // (up to interpolation between two order statistics straddling a knot, and float32).
      after.forEach((v, k) => expect(Math.abs(v - standard[k])).toBeLessThan(1e-3 * (standard[10] - standard[0])));
    }
  });

  it('refuses bad landmark lists', () => {
    for (const p of [[50], [10, 5], [-1, 50], [1, 50, 101]]) {
      try {
        fitNyul(siteVolumes(), 'siteA', { percentiles: p });
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as Error).message).toMatch(/percentiles must be at least 2 strictly ascending numbers/);
      }
    }
  });
});
