/**
 * Image features for the site classifier: deterministic, and each family moves with the
 * acquisition property it describes (same subject, one scanner effect changed), while texture
 * ignores monotone intensity maps and the ratios ignore a global scale.
 */
import { describe, expect, it } from 'vitest';
import { foregroundMask } from '../../../harmonize/foreground.ts';
import {
  biasFeatures,
  FEATURE_FAMILIES,
  featureClasses,
  imageFeatures,
  noiseFeatures,
  sharpnessFeatures,
  textureFeatures,
  tissueRatioFeatures,
  type FeatureContext,
} from '../../../harmonize/measure/image-features.ts';
import { generatePhantom, type ScannerEffects } from '../../../volumes/phantom/index.ts';
import { createVolume, type Volume } from '../../../volumes/volume.ts';

const SHAPE: [number, number, number] = [56, 56, 40];

function scan(scanner: Partial<ScannerEffects>): Volume {
  return generatePhantom({ region: 'head', seed: 3, shape: SHAPE, scanner, scannerSeed: 9 }).t1;
}

const base = scan({ biasStrength: 0.05, noiseSigma: 0.02 });
const mask = foregroundMask(base, 'base');
// one mask and one class map for every variant: only the intensities differ
const ctx: FeatureContext = { mask, classes: featureClasses(base, mask) };

describe('image features', () => {
  it('are deterministic and complete', () => {
    const a = imageFeatures(base, ctx);
    const b = imageFeatures(scan({ biasStrength: 0.05, noiseSigma: 0.02 }), { mask, classes: featureClasses(base, mask) });
    expect(Object.keys(a)).toEqual([...FEATURE_FAMILIES]);
    expect(b).toEqual(a);
    for (const f of FEATURE_FAMILIES) expect(a[f].every(Number.isFinite), f).toBe(true);
    expect(a.sharpness).toHaveLength(3);
    expect(a.texture).toHaveLength(3);
  });

  it('noise grows with the scanner noise', () => {
    const quiet = noiseFeatures(base, ctx);
    const noisy = noiseFeatures(scan({ biasStrength: 0.05, noiseSigma: 0.06 }), ctx);
    expect(noisy[0]).toBeGreaterThan(2 * quiet[0]);
    expect(noisy[1]).toBeGreaterThan(2 * quiet[1]);
    // a global scale changes neither
    const scaled = createVolume({ ...base, data: base.data.map((v) => 3 * v) });
    noiseFeatures(scaled, ctx).forEach((v, k) => expect(v).toBeCloseTo(quiet[k], 6));
  });

  it('sharpness drops along the blurred axis only', () => {
    const sharp = sharpnessFeatures(base, ctx);
    const blurred = sharpnessFeatures(scan({ biasStrength: 0.05, noiseSigma: 0.02, blurFwhmMm: [0, 0, 8] }), ctx);
    const dz = sharp[2] - blurred[2];
    expect(dz).toBeGreaterThan(0.05);
    // in-plane ratios move much less (through-plane blur still mixes neighbouring structures)
    expect(Math.abs(blurred[0] - sharp[0])).toBeLessThan(dz / 2);
    expect(Math.abs(blurred[1] - sharp[1])).toBeLessThan(dz / 2);
  });

  it('bias grows with the bias field strength', () => {
    const flat = biasFeatures(base, ctx);
    const biased = biasFeatures(scan({ biasStrength: 0.4, noiseSigma: 0.02 }), ctx);
    expect(biased[0]).toBeGreaterThan(flat[0] + 0.03);
    expect(biased[1]).toBeGreaterThan(flat[1]);
  });

  it('texture ignores any monotone intensity map and grows with noise', () => {
    const t = textureFeatures(base, ctx);
    const mapped = createVolume({ ...base, data: base.data.map((v) => Math.sqrt(Math.max(0, v)) * 7 + 0.001 * v * v) });
    expect(textureFeatures(mapped, ctx)).toEqual(t);
    const noisy = textureFeatures(scan({ biasStrength: 0.05, noiseSigma: 0.08 }), ctx);
    for (let a = 0; a < 3; a++) expect(noisy[a]).toBeGreaterThan(t[a]);
  });

  it('tissue ratios ignore a global scale but see a contrast change; bad input is refused', () => {
    const r = tissueRatioFeatures(base, ctx);
    const scaled = createVolume({ ...base, data: base.data.map((v) => 2.5 * v) });
    tissueRatioFeatures(scaled, ctx).forEach((v, k) => expect(v).toBeCloseTo(r[k], 6));
    const gamma = tissueRatioFeatures(scan({ biasStrength: 0.05, noiseSigma: 0.02, gamma: 0.6 }), ctx);
    expect(Math.abs(gamma[2] - r[2])).toBeGreaterThan(0.05);
    expect(() => imageFeatures(base, { mask: new Uint8Array(5), classes: ctx.classes })).toThrow(/one entry per voxel/);
    const tiny = new Uint8Array(mask.length);
    tiny[mask.indexOf(1)] = 2;
    expect(() => noiseFeatures(base, { mask: tiny, classes: tiny })).toThrow(/flat voxels/);
  });
});
