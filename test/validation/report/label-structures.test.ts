/**
 * labelStructures on hand-made segmentations (1 mm voxels): the composition change is the total
 * variation distance of the shared-class fractions, a structure is flagged above the limit only when
 * large enough and mostly compared; means and MAE are exact.
 */
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Shape3, Volume } from '../../../volumes/volume.ts';
import { labelStructures } from '../../../validation/report/label-structures.ts';
import { ctSegmenter } from '../../../validation/segment/ct-segmenter.ts';
import { mrSegmenter } from '../../../validation/segment/mr-segmenter.ts';
import { comparableMapping, SHARED_CLASS } from '../../../validation/segment/segmenter.ts';

const shape: Shape3 = [40, 12, 12];
const n = shape[0] * shape[1] * shape[2];

function vol<T extends Uint8Array | Float32Array>(data: T, kind: 'label' | 'intensity' = 'label'): Volume<T> {
  return createVolume({ data, shape, spacing: [1, 1, 1], kind, ...(kind === 'intensity' ? { modality: 'CT' as const, meta: { units: 'HU' as const } } : {}) });
}

/** Structures along x: 1 = x 0..9 (kidney, 1440 mm³), 2 = x 10..19, 3 = x 20..29, 4 = x 30..31 (288 mm³). */
function setup(): { labels: Volume<Uint8Array>; src: Volume<Uint8Array>; syn: Volume<Uint8Array>; sct: Volume<Float32Array>; ref: Volume<Float32Array> } {
  const labels = new Uint8Array(n);
  const src = new Uint8Array(n).fill(SHARED_CLASS.SOFT);
  const syn = new Uint8Array(n).fill(SHARED_CLASS.SOFT);
  const sct = new Float32Array(n).fill(40);
  const ref = new Float32Array(n).fill(30);
  for (let p = 0; p < n; p++) {
    const x = p % shape[0];
    const z = Math.floor(p / (shape[0] * shape[1]));
    if (x < 10) {
      labels[p] = 1;
      // 80 % of the kidney (z ≥ 3 of 0..11 is 9/12 = 75 %, plus x < 2 of z < 3: 2/10 · 3/12 = 5 %) turned dark
      if (z >= 3 || x < 2) {
        syn[p] = SHARED_CLASS.DARK;
        sct[p] = -900;
      }
    } else if (x < 20) {
      labels[p] = 2;
      if (z === 0) syn[p] = SHARED_CLASS.FAT; // 1/12 changed
    } else if (x < 30) {
      labels[p] = 3;
      // mostly cancellous bone on the CT: ignored against MR, the rest dark
      syn[p] = z < 10 ? SHARED_CLASS.MARROW : SHARED_CLASS.BONE;
    } else if (x < 32) {
      labels[p] = 4;
      syn[p] = SHARED_CLASS.DARK; // all changed, but small
    }
  }
  return { labels: vol(labels), src: vol(src), syn: vol(syn), sct: vol(sct, 'intensity'), ref: vol(ref, 'intensity') };
}

describe('labelStructures', () => {
  const mapping = comparableMapping(mrSegmenter().classes, ctSegmenter().classes);

  it('measures composition change as the total variation distance and flags only the changed, large, compared structure', () => {
    const s = setup();
    const out = labelStructures({
      labels: s.labels,
      segmentations: { source: s.src, synthetic: s.syn },
      mapping,
      synthetic: s.sct,
      reference: s.ref,
      names: { 1: 'kidney_right' },
    });
    expect(out.map((x) => x.label)).toEqual([1, 2, 3, 4]);
    const [kidney, two, three, four] = out;
    expect(kidney.name).toBe('kidney_right');
    expect(kidney.voxels).toBe(1440);
    expect(kidney.volumeMm3).toBe(1440);
    expect(kidney.comparedVoxels).toBe(1440);
    expect(kidney.composition.source).toEqual({ soft: 1 });
    expect(kidney.composition.synthetic.dark).toBeCloseTo(0.8, 12);
    expect(kidney.composition.synthetic.soft).toBeCloseTo(0.2, 12);
    expect(kidney.compositionChange).toBeCloseTo(0.8, 12);
    expect(kidney.dominant).toEqual({ source: 'soft', synthetic: 'dark' });
    expect(kidney.judged).toBe(true);
    expect(kidney.flagged).toBe(true);
    expect(kidney.reason).toMatch(/kidney_right \(label 1\): 80 % of its tissue changed class .*soft 100 %.*dark 80 %/);
    expect(kidney.meanSynthetic).toBeCloseTo(0.8 * -900 + 0.2 * 40, 3);
    expect(kidney.meanReference).toBe(30);
    expect(kidney.maeReference).toBeCloseTo(0.8 * 930 + 0.2 * 10, 3);

    expect(two.compositionChange).toBeCloseTo(1 / 12, 12);
    expect(two.flagged).toBe(false);
    expect(two.reason).toBeNull();

    // 10/12 of structure 3 is marrow (ignored against MR): listed with its change, not judged
    expect(three.comparedVoxels).toBe(240);
    expect(three.compositionChange).toBe(1);
    expect(three.judged).toBe(false);
    expect(three.flagged).toBe(false);

    // entirely changed but 288 mm³ < 1000 mm³
    expect(four.compositionChange).toBe(1);
    expect(four.judged).toBe(false);
    expect(four.flagged).toBe(false);
  });

  it('follows the thresholds', () => {
    const s = setup();
    const base = { labels: s.labels, segmentations: { source: s.src, synthetic: s.syn }, mapping, synthetic: s.sct };
    const strict = labelStructures({ ...base, thresholds: { maxCompositionChange: 0.05, minStructureMm3: 100 } });
    expect(strict.filter((x) => x.flagged).map((x) => x.label)).toEqual([1, 2, 4]);
    const lax = labelStructures({ ...base, thresholds: { maxCompositionChange: 0.8 } });
    expect(lax.filter((x) => x.flagged)).toEqual([]); // 0.8 is not above 0.8
    expect(lax[0].meanReference).toBeNull();
    expect(lax[0].maeReference).toBeNull();
    for (const bad of [{ maxCompositionChange: 1.5 }, { maxCompositionChange: Number.NaN }, { minStructureMm3: -1 }]) {
      let err: unknown;
      try {
        labelStructures({ ...base, thresholds: bad });
      } catch (e) {
        err = e;
      }
      expect(isVoxshiftError(err, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('refuses non-integer labels and mismatched sizes', () => {
    const s = setup();
    const frac = vol(Float32Array.from(s.labels.data, (v) => (v === 1 ? 1.5 : v)));
    expect(() => labelStructures({ labels: frac, segmentations: { source: s.src, synthetic: s.syn }, mapping, synthetic: s.sct })).toThrow(/non-negative integers/);
    const short = createVolume({ data: new Float32Array(10), shape: [10, 1, 1], spacing: [1, 1, 1] });
    let err: unknown;
    try {
      labelStructures({ labels: s.labels, segmentations: { source: s.src, synthetic: s.syn }, mapping, synthetic: short });
    } catch (e) {
      err = e;
    }
    expect(isVoxshiftError(err, 'GEOMETRY_MISMATCH')).toBe(true);
  });
});
