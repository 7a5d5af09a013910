/**
 * createClassBalancedSampler: a class of two voxels is in about half the patches (two foreground
 * classes, foregroundProb 1) where the labelled-voxel sampler almost never draws it; picks name the
 * pair's position in the list; seeded; foregroundProb 0 is uniform.
 */
import { describe, expect, it } from 'vitest';
import { prepareDomainVolume } from '../../../../models3d/data/domain-volume.ts';
import { createPairedSampler, type Batch, type SamplerConfig } from '../../../../models3d/data/samplers.ts';
import { createClassBalancedSampler, type ClassPair } from '../../../../validation/segment/learned/class-sampler.ts';
import { createRng } from '../../../../volumes/random.ts';
import { createVolume } from '../../../../volumes/volume.ts';

const SHAPE: [number, number, number] = [16, 16, 8];

/** Class 1 fills the lower half of the volume; with `small`, class 2 is two voxels at (12, 12, 6). */
function pair(name: string, small: boolean): ClassPair {
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const image = createVolume({ data: Float32Array.from({ length: n }, (_, p) => p % 7), shape: SHAPE, spacing: [1, 1, 1], modality: 'MR' });
  const a = prepareDomainVolume(image, { type: 'mr-percentile', p: [0.5, 99.5] }, name);
  const index = new Float32Array(n);
  for (let p = 0; p < n / 2; p++) index[p] = 1;
  if (small) {
    const at = 12 + 16 * (12 + 16 * 6);
    index[at] = 2;
    index[at + 1] = 2;
  }
  const foreground = Uint8Array.from(index, (v) => (v > 0 ? 1 : 0));
  return { a: { ...a, foreground }, b: { ...a, name: `${name} (labels)`, data: index, foreground } };
}

const config: SamplerConfig = { spatialDims: 2, axis: 2, patchSize: [4, 4], batchSize: 8, foregroundProb: 1, padValue: -1 };
const pairs = [pair('plain', false), pair('small', true)];
const withSmall = (b: Batch): number => {
  let count = 0;
  for (let n = 0; n < b.shape[0]; n++) if (b.b.subarray(n * 16, (n + 1) * 16).includes(2)) count++;
  return count;
};
const fraction = (draw: () => Batch, batches: number): number => {
  let hits = 0;
  for (let i = 0; i < batches; i++) hits += withSmall(draw());
  return hits / (batches * 8);
};

describe('createClassBalancedSampler', () => {
  it('draws a two-voxel class as often as a large one', () => {
    const rng = createRng(1);
    const balanced = createClassBalancedSampler(pairs, config, 3);
    const plain = createPairedSampler(pairs, config);
    const b = fraction(() => balanced.sample(rng), 50);
    const p = fraction(() => plain.sample(rng), 50);
    expect(b).toBeGreaterThan(0.4);
    expect(b).toBeLessThan(0.6);
    expect(p).toBeLessThan(0.05);
  });

  it('foregroundProb 0 draws patch starts uniformly', () => {
    const rng = createRng(2);
    const s = createClassBalancedSampler(pairs, { ...config, foregroundProb: 0 }, 3);
    expect(fraction(() => s.sample(rng), 50)).toBeLessThan(0.05);
  });

  it('is seeded, keeps the batch layout and names pairs by their position in the list', () => {
    const s = createClassBalancedSampler(pairs, config, 3);
    const x = s.sample(createRng(5));
    const y = s.sample(createRng(5));
    expect(x.shape).toEqual([8, 4, 4, 1]);
    expect(x.a).toEqual(y.a);
    expect(x.b).toEqual(y.b);
    expect(x.a.length).toBe(8 * 16);
    for (let n = 0; n < 8; n++) {
      const pick = x.picks.b[n];
      expect(x.picks.a[n].volumeIndex).toBe(pick.volumeIndex);
      expect(pick.volume).toBe(`${pairs[pick.volumeIndex].b.name}`);
      if (x.b.subarray(n * 16, (n + 1) * 16).includes(2)) expect(pick.volumeIndex).toBe(1);
    }
  });

  it('refuses a class count below 2', () => {
    expect(() => createClassBalancedSampler(pairs, config, 1)).toThrow(/classes must be an integer ≥ 2/);
  });
});
