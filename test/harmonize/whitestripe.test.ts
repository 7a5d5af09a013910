import { describe, expect, it } from 'vitest';
import { foregroundMask, maskedValues } from '../../harmonize/foreground.ts';
import { applyWhiteStripe, findWhiteStripe, fitWhiteStripe } from '../../harmonize/whitestripe.ts';
import { createRng, normal } from '../../volumes/random.ts';
import { TISSUE } from '../../volumes/phantom/index.ts';
import { heldOut, siteVolumes } from './helpers.ts';

/** Grey matter 100 (45 %), white matter 200 (40 %), fat 400 (15 %), each ± 5: the median is grey matter. */
function threeTissues(): Float64Array {
  const rng = createRng(3);
  const out = new Float64Array(20000);
  for (let i = 0; i < out.length; i++) {
    const u = i / out.length;
    out[i] = normal(rng, u < 0.45 ? 100 : u < 0.85 ? 200 : 400, 5);
  }
  return out;
}

describe('WhiteStripe', () => {
  it('finds the tallest peak above the median by default and the brightest tall one with peak: last', () => {
    const values = threeTissues();
    const largest = findWhiteStripe(values, {}, 'x');
    expect(largest.peak).toBeGreaterThan(190);
    expect(largest.peak).toBeLessThan(210);
    expect(largest.mean).toBeCloseTo(200, 0);
    expect(largest.std).toBeLessThan(5);
    expect(largest.lower).toBeLessThan(largest.mean);
    expect(largest.upper).toBeGreaterThan(largest.mean);
    const last = findWhiteStripe(values, { peak: 'last', voiPercentile: 0 }, 'x');
    expect(last.mean).toBeGreaterThan(390);
    expect(last.mean).toBeLessThan(410);
  });

  it('standardises the white matter of every site onto the reference’s stripe', () => {
    const model = fitWhiteStripe(siteVolumes(), 'siteA');
    for (const site of ['siteA', 'siteB', 'siteC']) {
      const subject = heldOut(site);
      const mask = foregroundMask(subject.image, site);
      const stripe = findWhiteStripe(maskedValues(subject.image, mask), model.parameters, site);
      // The stripe sits on the phantom's white matter: its mean is the white-matter voxels' mean within 10 %.
      let sum = 0;
      let n = 0;
      for (let p = 0; p < mask.length; p++) {
        if (mask[p] && subject.labels.data[p] === TISSUE.WHITE_MATTER) {
          sum += subject.image.data[p];
          n++;
        }
      }
      expect(Math.abs(stripe.mean - sum / n) / (sum / n)).toBeLessThan(0.1);
      const out = applyWhiteStripe(model, subject.image, { mask });
      const after = findWhiteStripe(maskedValues(out, mask), model.parameters, site);
      expect(after.mean).toBeCloseTo(model.parameters.mean, 0);
      expect(after.std / model.parameters.std).toBeCloseTo(1, 1);
    }
  });

  it('refuses bad options and a constant foreground', () => {
    expect(() => findWhiteStripe(threeTissues(), { width: 0.7 }, 'x')).toThrow(/width must be a number in \(0, 0\.5\]/);
    expect(() => findWhiteStripe(threeTissues(), { peak: 'first' as 'last' }, 'x')).toThrow(/peak must be/);
    expect(() => findWhiteStripe(new Float64Array(100).fill(7), {}, 'flat')).toThrow(/flat: the foreground is constant/);
    expect(() => findWhiteStripe(new Float64Array(5), {}, 'tiny')).toThrow(/tiny: only 5 foreground voxels/);
  });
});
