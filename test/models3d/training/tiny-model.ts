/**
 * Test helper: tiny model configs (ngf 4, ndf 4, one residual block or a U-Net of depth 2–3, 16² or 8³
 * patches), small phantom training sets, and checkpoint content for the checkpoint, training and
 * inference tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointContent } from '../../../models3d/checkpoint/checkpoint.ts';
import { prepareDomainVolume } from '../../../models3d/data/domain-volume.ts';
import { phantomSet } from '../../../models3d/data/phantom-data.ts';
import { resolveModelConfig, type ModelConfig, type ModelConfigInput } from '../../../models3d/model/config.ts';
import { buildModelNetworks, describeModelNetworks } from '../../../models3d/model/networks.ts';
import { createRng } from '../../../volumes/random.ts';
import type { TrainingData } from '../../../models3d/training/train-model.ts';

export type Dims = 2 | 3;
export const TINY_PATCH: Record<Dims, number> = { 2: 16, 3: 8 };
/** Phantom subjects small enough for a few training steps per test. */
export const TINY_PHANTOM_SHAPE = [32, 32, 16] as const;

/** A tiny model: ResNet (1 block) for CycleGAN, U-Net depth 2 for Pix2Pix; `extra` groups override. */
export function tinyConfig(kind: ModelConfig['kind'], dims: Dims, extra: Partial<Omit<ModelConfigInput, 'kind' | 'spatialDims'>> = {}): ModelConfig {
  return resolveModelConfig({
    kind,
    spatialDims: dims,
    generator: kind === 'pix2pix' ? { type: 'unet', ngf: 4, depth: 2 } : { ngf: 4, blocks: 1 },
    discriminator: { ndf: 4, layers: dims === 2 ? 2 : 1 },
    optimizer: { constantSteps: 4, decaySteps: 4 },
    seed: 5,
    ...extra,
    data: { patchSize: Array<number>(dims).fill(TINY_PATCH[dims]), poolSize: kind === 'cyclegan' ? 3 : 0, ...extra.data },
  });
}

/** Freshly initialised networks of `config` with plausible metadata, as trainModel would save them. */
export function tinyContent(config: ModelConfig): CheckpointContent {
  return {
    config,
    step: 3,
    normalization: { a: { type: 'mr-percentile', p: [0.5, 99.5], low: 10, high: 900 }, b: { type: 'ct-window', lower: -1024, upper: 3000 } },
    spacing: { a: [1, 1, 2], b: [1, 1, 2] },
    networks: buildModelNetworks(describeModelNetworks(config), config.seed),
    notes: { test: true },
  };
}

/** Phantom MR (A) and CT (B) volumes ready for training: paired for Pix2Pix, other subjects in B for CycleGAN. */
export function phantomTrainingData(config: ModelConfig, count = 2, shape: readonly number[] = TINY_PHANTOM_SHAPE): TrainingData {
  const set = phantomSet({ count, shape, paired: config.kind === 'pix2pix' });
  return {
    a: set.a.map((v, i) => prepareDomainVolume(v, config.domains.a.normalization, `A${i}`)),
    b: set.b.map((v, i) => prepareDomainVolume(v, config.domains.b.normalization, `B${i}`)),
  };
}

/** A fixed input batch [1, ...patch, 1] in [−1, 1]. */
export function fixedInput(config: ModelConfig, seed = 42): tf.Tensor {
  const rng = createRng(seed);
  const shape = [1, ...config.data.patchSize, 1];
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng() * 2 - 1), shape, 'float32');
}
