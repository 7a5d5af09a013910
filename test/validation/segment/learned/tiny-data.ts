/** Test helper: tiny phantom subjects (T1w MR + tissue labels) and a tiny segmenter configuration. */
import { generatePhantom } from '../../../../volumes/phantom/index.ts';
import type { TrainingSubject, TrainSegmenterOptions } from '../../../../validation/segment/learned/index.ts';

export const TINY_SHAPE = [32, 32, 16] as const;

export function tinySubjects(seeds: readonly number[] = [1, 2]): TrainingSubject[] {
  return seeds.map((seed) => {
    const p = generatePhantom({ region: 'head', seed, shape: TINY_SHAPE });
    return { id: `s${seed}`, image: p.t1, label: p.labels };
  });
}

/** Soft tissue (3) and white matter (5) as the classes, a U-Net of depth 2 with 4 filters. */
export function tinyOptions(subjects: TrainingSubject[], extra: Partial<TrainSegmenterOptions> = {}): TrainSegmenterOptions {
  return {
    subjects,
    spatialDims: 2,
    patchSize: 16,
    batchSize: 2,
    filters: 4,
    depth: 2,
    steps: 3,
    seed: 3,
    classes: [
      { value: 3, name: 'soft' },
      { value: 5, name: 'wm' },
    ],
    ...extra,
  };
}
