import { describe, expect, it } from 'vitest';
import { foregroundMask, maskedValues } from '../../harmonize/foreground.ts';
import { applyZScore, fitZScore, foregroundMoments } from '../../harmonize/zscore.ts';
import { heldOut, siteVolumes } from './helpers.ts';

describe('masked z-score', () => {
  it("puts every image's foreground at the reference site's mean and standard deviation", () => {
    const model = fitZScore(siteVolumes(), 'siteA');
    const refs = siteVolumes().siteA.map((v) => {
      const vol = v as ReturnType<typeof heldOut>['image'];
      return foregroundMoments(maskedValues(vol, foregroundMask(vol, 'ref')), 'ref');
    });
    expect(model.parameters.mean).toBeCloseTo((refs[0].mean + refs[1].mean) / 2, 9);
    expect(model.parameters.std).toBeCloseTo((refs[0].std + refs[1].std) / 2, 9);
    for (const site of ['siteB', 'siteC']) {
      const input = heldOut(site).image;
      const mask = foregroundMask(input, site);
      const out = applyZScore(model, input, { mask });
      const m = foregroundMoments(maskedValues(out, mask), site);
      expect(m.mean).toBeCloseTo(model.parameters.mean, 2);
      expect(m.std / model.parameters.std).toBeCloseTo(1, 5);
      // A linear map: the history records the image's own moments.
      const own = foregroundMoments(maskedValues(input, mask), site);
      expect(out.history[out.history.length - 1].params).toMatchObject({ mean: own.mean, std: own.std });
    }
  });
});
