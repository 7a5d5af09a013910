/**
 * Class-balanced patch sampling (nnU-Net's foreground oversampling with a random class): with
 * probability `foregroundProb` a batch item is centred on a voxel of one foreground class, the class
 * drawn uniformly among those present in the training pairs (then a pair containing it, then a voxel
 * of it); otherwise a pair is drawn uniformly and the patch start is uniform. A class of a few hundred
 * voxels is then seen as often as a large one, where "centred on any labelled voxel" would almost
 * never pick it. Built from models3d's paired sampler (batch size 1 per pair and class), so patches,
 * padding and flips are the same; the per-pair samplers are cached on the pair's label volume, so a
 * sampler rebuilt after one pair changed (trainSegmenter's augmentation pool) indexes only that pair.
 */
import { createPairedSampler, type Batch, type SamplePick, type Sampler, type SamplerConfig } from '../../../models3d/data/samplers.ts';
import type { DomainVolume } from '../../../models3d/data/domain-volume.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { randomInt, type Rng } from '../../../volumes/random.ts';

export interface ClassPair {
  a: DomainVolume;
  /** `data` holds class indices (0 = background, 1..classes − 1). */
  b: DomainVolume;
}

interface PairSamplers {
  uniform: Sampler;
  /** Class index → a sampler centred on that class's voxels (absent when the pair has none). */
  byClass: Map<number, Sampler>;
}

const cache = new WeakMap<DomainVolume, { key: string; samplers: PairSamplers }>();

function pairSamplers(p: ClassPair, one: SamplerConfig, classes: number): PairSamplers {
  const key = JSON.stringify([one, classes]);
  const hit = cache.get(p.b);
  if (hit && hit.key === key) return hit.samplers;
  const n = p.b.data.length;
  const masks = new Map<number, Uint8Array>();
  for (let q = 0; q < n; q++) {
    const c = p.b.data[q];
    if (c < 1 || c >= classes) continue;
    let m = masks.get(c);
    if (!m) masks.set(c, (m = new Uint8Array(n)));
    m[q] = 1;
  }
  const byClass = new Map<number, Sampler>();
  for (const [c, mask] of masks) {
    byClass.set(c, createPairedSampler([{ a: { ...p.a, foreground: mask }, b: { ...p.b, foreground: mask } }], { ...one, foregroundProb: 1 }));
  }
  const samplers = { uniform: createPairedSampler([p], { ...one, foregroundProb: 0 }), byClass };
  cache.set(p.b, { key, samplers });
  return samplers;
}

/** A sampler over `pairs` whose foreground draws are balanced over the classes 1..classes − 1. */
export function createClassBalancedSampler(pairs: readonly ClassPair[], config: SamplerConfig, classes: number): Sampler {
  if (!Number.isInteger(classes) || classes < 2) {
    throw new VoxshiftError('INVALID_ARGUMENT', `classes must be an integer ≥ 2 (background included), got ${classes}`, { param: 'classes' });
  }
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'pairs must be a non-empty array of { a, b }', { param: 'pairs' });
  }
  const foregroundProb = config.foregroundProb ?? 0.9;
  const one: SamplerConfig = { ...config, batchSize: 1 };
  const per = pairs.map((p) => pairSamplers(p, one, classes));
  // Class → the positions of the pairs containing it.
  const having = new Map<number, number[]>();
  per.forEach((s, i) => {
    for (const c of s.byClass.keys()) having.set(c, [...(having.get(c) ?? []), i]);
  });
  const present = [...having.keys()].sort((x, y) => x - y);
  return {
    sample(rng: Rng): Batch {
      const items: Batch[] = [];
      const index: number[] = [];
      for (let n = 0; n < config.batchSize; n++) {
        let i: number;
        let sampler: Sampler;
        if (present.length > 0 && rng() < foregroundProb) {
          const c = present[randomInt(rng, 0, present.length - 1)];
          const list = having.get(c) as number[];
          i = list[randomInt(rng, 0, list.length - 1)];
          sampler = per[i].byClass.get(c) as Sampler;
        } else {
          i = randomInt(rng, 0, pairs.length - 1);
          sampler = per[i].uniform;
        }
        items.push(sampler.sample(rng));
        index.push(i);
      }
      const size = items[0].a.length;
      const a = new Float32Array(size * items.length);
      const b = new Float32Array(size * items.length);
      const picksA: SamplePick[] = [];
      const picksB: SamplePick[] = [];
      items.forEach((it, n) => {
        a.set(it.a, n * size);
        b.set(it.b, n * size);
        // Each per-pair sampler holds one pair: name its position in `pairs`.
        picksA.push({ ...it.picks.a[0], volumeIndex: index[n] });
        picksB.push({ ...it.picks.b[0], volumeIndex: index[n] });
      });
      return { a, b, shape: [config.batchSize, ...items[0].shape.slice(1)], picks: { a: picksA, b: picksB } };
    },
  };
}
