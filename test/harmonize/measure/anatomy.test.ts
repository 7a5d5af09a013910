import { describe, expect, it } from 'vitest';
import { applyThresholdSegmenter, classDice, fitThresholdSegmenter, kmeansSegmentation, truthClasses } from '../../../harmonize/measure/anatomy.ts';
import { createRng, normal } from '../../../volumes/random.ts';

/** Labels 1, 2, 3 with intensities 10, 50, 90 (± noise); the first 10 voxels are outside the mask. */
function scene(noise: number, seed = 1): { image: Float64Array; labels: Uint8Array; mask: Uint8Array } {
  const rng = createRng(seed);
  const n = 3000;
  const labels = Uint8Array.from({ length: n }, (_, i) => 1 + (i % 3));
  const image = Float64Array.from(labels, (l) => [0, 10, 50, 90][l] + normal(rng, 0, noise));
  const mask = Uint8Array.from({ length: n }, (_, i) => (i < 10 ? 0 : 1));
  return { image, labels, mask };
}

describe('threshold segmenter', () => {
  it('learns the thresholds between the classes and reproduces clean labels', () => {
    const s = scene(2);
    const seg = fitThresholdSegmenter([s], [0, 1, 2, 3], ['low', 'mid', 'high']);
    expect(seg.thresholds[0]).toBeGreaterThan(20);
    expect(seg.thresholds[0]).toBeLessThan(40);
    expect(seg.thresholds[1]).toBeGreaterThan(60);
    expect(seg.thresholds[1]).toBeLessThan(80);
    expect(seg.trainingAccuracy).toBe(1);
    const out = applyThresholdSegmenter(seg, s.image, s.mask);
    expect(Array.from(out.subarray(0, 10))).toEqual(new Array(10).fill(0));
    expect(classDice(out, truthClasses(s.labels, s.mask, [0, 1, 2, 3]), 3)).toEqual([1, 1, 1]);
  });

  it('fails on another intensity scale (the site effect) until the scale is undone', () => {
    const train = scene(5, 1);
    const seg = fitThresholdSegmenter([train], [0, 1, 2, 3], ['low', 'mid', 'high']);
    const other = scene(5, 2);
    const scaled = other.image.map((v) => 2.5 * v + 40);
    const truth = truthClasses(other.labels, other.mask, [0, 1, 2, 3]);
    const bad = classDice(applyThresholdSegmenter(seg, scaled, other.mask), truth, 3);
    const good = classDice(applyThresholdSegmenter(seg, other.image, other.mask), truth, 3);
    expect(Math.min(...bad)).toBeLessThan(0.5);
    expect(Math.min(...good)).toBeGreaterThan(0.95);
  });
});

describe('k-means segmentation', () => {
  it('finds the same classes after any increasing linear map', () => {
    const s = scene(4);
    const a = kmeansSegmentation(s.image, s.mask);
    const b = kmeansSegmentation(s.image.map((v) => 0.3 * v - 7), s.mask);
    expect(b).toEqual(a);
    expect(classDice(a, truthClasses(s.labels, s.mask, [0, 1, 2, 3]), 3).every((d) => d > 0.99)).toBe(true);
  });
});
