/**
 * Built-in training and test data: phantom subjects (volumes/phantom) as an MR→CT task. Domain A is
 * the T1- or T2-weighted MR, domain B the CT of a subject. Paired sets (Pix2Pix) take both from the
 * same subjects; unpaired sets (CycleGAN) take A and B from different subjects, as real unpaired data
 * would be. Held-out sets use seeds disjoint from the training seeds.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { generatePhantom, type PhantomRegion } from '../../volumes/phantom/index.ts';
import type { Volume } from '../../volumes/volume.ts';

export type PhantomContrast = 't1' | 't2';

export interface PhantomSetOptions {
  count: number;
  region?: PhantomRegion;
  contrast?: PhantomContrast;
  /** Same subjects in A and B (default true); false draws B from other subjects. */
  paired?: boolean;
  /** First subject seed; subjects use seed, seed + 1, ... (B of an unpaired set: seed + count, ...). */
  seed?: number;
  shape?: readonly number[];
}

export interface PhantomSet {
  a: Volume[];
  b: Volume[];
  /** Labels of the A subjects (tissue ids), for body masks and per-tissue errors. */
  labels: Volume[];
  seeds: { a: number[]; b: number[] };
}

/** Seeds from here on are never used for training sets, so test subjects stay unseen. */
export const HELD_OUT_SEED = 100_000;

export function phantomSet(options: PhantomSetOptions): PhantomSet {
  const count = options.count;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new VoxshiftError('INVALID_ARGUMENT', `phantom count must be an integer in [1, 1000], got ${JSON.stringify(count)}`, { param: 'phantoms' });
  }
  const region = options.region ?? 'head';
  const contrast = options.contrast ?? 't1';
  if (contrast !== 't1' && contrast !== 't2') throw new VoxshiftError('INVALID_ARGUMENT', `phantom contrast must be t1 or t2, got ${JSON.stringify(contrast)}`, { param: 'contrast' });
  const seed0 = options.seed ?? 1;
  const paired = options.paired ?? true;
  const seedsA = Array.from({ length: count }, (_, i) => seed0 + i);
  const seedsB = paired ? seedsA : seedsA.map((s) => s + count);
  const make = (seed: number): ReturnType<typeof generatePhantom> => generatePhantom({ region, seed, ...(options.shape ? { shape: options.shape } : {}) });
  const a: Volume[] = [];
  const b: Volume[] = [];
  const labels: Volume[] = [];
  for (let i = 0; i < count; i++) {
    const pa = make(seedsA[i]);
    a.push(pa[contrast]);
    labels.push(pa.labels);
    b.push(paired ? pa.ct : make(seedsB[i]).ct);
  }
  return { a, b, labels, seeds: { a: seedsA, b: seedsB } };
}
