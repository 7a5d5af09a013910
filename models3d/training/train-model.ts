/**
 * The training run of a translation model: sample batches, take CycleGAN or Pix2Pix steps with the
 * scheduled learning rate, log losses (JSONL), draw montages, save checkpoints, resume, stop cleanly.
 *
 * Reproducible by construction: every random draw of step s (batch crops, pool choices, dropout)
 * comes from a generator seeded with (config.seed, s), so a run resumed from the checkpoint of step s
 * takes exactly the steps an uninterrupted run would have taken (given the same data and backend).
 *
 * Output folder: `checkpoint/` (latest training checkpoint, resumable), `model/` (generators only,
 * for translation; written at the end), `log.jsonl` (one line per logged step), `montage/` (PNGs).
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Normalization } from '../../volumes/normalize.ts';
import { createRng, type Rng } from '../../volumes/random.ts';
import { referenceNormalization, type DomainVolume } from '../data/domain-volume.ts';
import { ImagePool } from '../data/image-pool.ts';
import { labelClassCount, oneHotFromEncoded } from '../data/label-encoding.ts';
import { createPairedSampler, createUnpairedSampler, type Batch } from '../data/samplers.ts';
import { loadCheckpoint, loadTrainingState, saveCheckpoint, type CheckpointContent } from '../checkpoint/checkpoint.ts';
import { totalSteps, type ModelConfig } from '../model/config.ts';
import { buildModelNetworks, describeModelNetworks, isGenerator, type NetworkRole } from '../model/networks.ts';
import type { Network } from '../networks/build-network.ts';
import { renderMontage, type MontageTile } from '../report/montage.ts';
import { learningRateAt } from './schedule.ts';
import { createCycleGanTrainer, createPix2PixTrainer, type CycleGanTrainer, type Pix2PixTrainer } from './step.ts';
import type { Adam } from './optimizer.ts';

export interface TrainingData {
  a: DomainVolume[];
  b: DomainVolume[];
}

export interface StepReport {
  step: number;
  totalSteps: number;
  learningRate: number;
  losses: Record<string, number>;
  secondsPerStep: number;
  /** Estimated seconds left at the current pace. */
  etaSeconds: number;
}

export interface TrainModelOptions {
  config: ModelConfig;
  data: TrainingData;
  outDir: string;
  /** Continue from `outDir/checkpoint` (its config wins; a different config is an error). */
  resume?: boolean;
  /** Stop after this step even if the schedule is longer (a checkpoint is saved). */
  stopAtStep?: number;
  checkpointEvery?: number;
  logEvery?: number;
  /** Steps between montages (0 = none). */
  montageEvery?: number;
  signal?: AbortSignal;
  onStep?: (report: StepReport) => void;
  /** Extra facts stored in the checkpoint manifests (command line, data description). */
  notes?: Record<string, unknown>;
}

export interface TrainModelResult {
  step: number;
  /** True when stopped by the signal before the schedule's end. */
  interrupted: boolean;
  checkpointDir: string;
  /** The inference model folder (generators only), written when the schedule completed. */
  modelDir?: string;
  lastLosses: Record<string, number>;
  seconds: number;
}

/** Seed of step `step`'s random draws. */
export function stepSeed(seed: number, step: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function medianSpacing(vols: DomainVolume[]): number[] {
  return [0, 1, 2].map((a) => median(vols.map((v) => v.spacing[a])));
}

function checkData(config: ModelConfig, data: TrainingData): void {
  if (data.a.length === 0 || data.b.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `training needs volumes in both domains (got ${data.a.length} in A, ${data.b.length} in B)`, { param: 'data' });
  }
  if (config.kind === 'pix2pix' && data.a.length !== data.b.length) {
    throw new VoxshiftError('INVALID_ARGUMENT', `Pix2Pix needs registered pairs: ${data.a.length} volumes in A but ${data.b.length} in B`, { param: 'data' });
  }
}

function sameConfig(a: ModelConfig, b: ModelConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Session {
  networks: Map<NetworkRole, Network>;
  optimizers: Record<string, Adam>;
  pools: Record<string, ImagePool>;
  takeStep(batch: Batch, step: number, rng: Rng): Record<string, number>;
  /** Tiles of a montage row for the first item of a batch: input | output | reconstruction or target. */
  montageRow(batch: Batch): MontageTile[];
  dispose(): void;
}

function tileOf(data: Float32Array, shape: number[], label: string): MontageTile {
  // Item 0 of [batch, ...spatial, 1]; for 3D its middle slice along depth.
  const spatial = shape.slice(1, -1);
  const [h, w] = spatial.slice(-2);
  const depthOffset = spatial.length === 3 ? Math.floor(spatial[0] / 2) * h * w : 0;
  return { data: data.subarray(depthOffset, depthOffset + h * w), width: w, height: h, window: { lower: -1, upper: 1 }, label };
}

function createSession(config: ModelConfig, networks: Map<NetworkRole, Network>): Session {
  const adam = { learningRate: config.optimizer.learningRate, beta1: config.optimizer.beta1, beta2: config.optimizer.beta2 };
  const net = (role: NetworkRole): Network => networks.get(role) as Network;
  if (config.kind === 'cyclegan') {
    const trainer: CycleGanTrainer = createCycleGanTrainer(
      { genAB: net('genAB'), genBA: net('genBA'), discA: net('discA'), discB: net('discB') },
      { ganMode: config.loss.ganMode, lambdaCycle: config.loss.lambdaCycle, lambdaIdentity: config.loss.lambdaIdentity, labelSmoothing: config.loss.labelSmoothing ?? 0, adam },
    );
    const itemShape = (batch: Batch): number[] => [1, ...batch.shape.slice(1)];
    const pools: Record<string, ImagePool> = {};
    const pool = (name: string, batch: Batch): ImagePool => (pools[name] ??= new ImagePool(config.data.poolSize, itemShape(batch)));
    return {
      networks,
      optimizers: { generators: trainer.optimizers.generators, discriminators: trainer.optimizers.discriminators },
      pools,
      takeStep(batch, step, rng) {
        const realA = tf.tensor(batch.a, batch.shape, 'float32');
        const realB = tf.tensor(batch.b, batch.shape, 'float32');
        try {
          const g = trainer.generatorGradients(realA, realB, step);
          let fakeA: tf.Tensor | undefined;
          let fakeB: tf.Tensor | undefined;
          try {
            trainer.applyGeneratorGradients(g.grads);
            const pooledA = pool('a', batch).query(g.fakeA.dataSync() as Float32Array, rng);
            const pooledB = pool('b', batch).query(g.fakeB.dataSync() as Float32Array, rng);
            fakeA = tf.tensor(pooledA, batch.shape, 'float32');
            fakeB = tf.tensor(pooledB, batch.shape, 'float32');
            const d = trainer.discriminatorStep(realA, realB, fakeA, fakeB);
            return { ...g.losses, ...d };
          } finally {
            for (const t of g.grads.values()) t.dispose();
            g.fakeA.dispose();
            g.fakeB.dispose();
            fakeA?.dispose();
            fakeB?.dispose();
          }
        } finally {
          realA.dispose();
          realB.dispose();
        }
      },
      montageRow(batch) {
        const [fake, rec] = tf.tidy(() => {
          const a = tf.tensor(batch.a, batch.shape, 'float32');
          const f = net('genAB').apply(a);
          return [f, net('genBA').apply(f)];
        });
        const out = [tileOf(batch.a, batch.shape, 'A'), tileOf(fake.dataSync() as Float32Array, batch.shape, 'A→B'), tileOf(rec.dataSync() as Float32Array, batch.shape, 'B→A')];
        fake.dispose();
        rec.dispose();
        return out;
      },
      dispose: () => trainer.dispose(),
    };
  }
  const trainer: Pix2PixTrainer = createPix2PixTrainer(
    { gen: net('gen'), disc: net('disc') },
    { ganMode: config.loss.ganMode, lambdaL1: config.loss.lambdaL1, labelSmoothing: config.loss.labelSmoothing ?? 0, adam },
  );
  // A label-map source travels as one scaled channel and enters the networks one-hot (data/label-encoding.ts).
  const classes = labelClassCount(config.domains.a.normalization);
  const inputA = (batch: Batch): tf.Tensor =>
    tf.tidy(() => {
      const a = tf.tensor(batch.a, batch.shape, 'float32');
      return classes === undefined ? a : oneHotFromEncoded(a, classes);
    });
  return {
    networks,
    optimizers: { generator: trainer.optimizers.generator, discriminator: trainer.optimizers.discriminator },
    pools: {},
    takeStep(batch, step) {
      const realA = inputA(batch);
      const realB = tf.tensor(batch.b, batch.shape, 'float32');
      try {
        return { ...trainer.step(realA, realB, step) };
      } finally {
        realA.dispose();
        realB.dispose();
      }
    },
    montageRow(batch) {
      const fake = tf.tidy(() => net('gen').apply(inputA(batch)));
      const out = [tileOf(batch.a, batch.shape, 'A'), tileOf(fake.dataSync() as Float32Array, batch.shape, 'A→B'), tileOf(batch.b, batch.shape, 'B')];
      fake.dispose();
      return out;
    },
    dispose: () => trainer.dispose(),
  };
}

/** Trains (or resumes) a model; see the module comment for the output folder. */
export async function trainModel(options: TrainModelOptions): Promise<TrainModelResult> {
  const t0 = performance.now();
  const { data, outDir } = options;
  const checkpointDir = join(outDir, 'checkpoint');
  const logPath = join(outDir, 'log.jsonl');
  let config = options.config;
  checkData(config, data);
  await mkdir(outDir, { recursive: true });

  let networks: Map<NetworkRole, Network>;
  let startStep = 0;
  let session: Session;
  if (options.resume) {
    if (!existsSync(checkpointDir)) {
      throw new VoxshiftError('FILE_NOT_FOUND', 'nothing to resume: no checkpoint folder (start without --resume)', { file: checkpointDir, param: 'resume' });
    }
    const loaded = await loadCheckpoint(checkpointDir);
    if (!sameConfig(loaded.config, config)) {
      for (const n of loaded.networks.values()) n.dispose();
      throw new VoxshiftError('INCOMPATIBLE_CHECKPOINT', 'the checkpoint was trained with a different configuration than this run asks for; resume with the same options (or start a new output folder)', {
        file: checkpointDir,
        details: { checkpoint: loaded.config, requested: config },
      });
    }
    config = loaded.config;
    networks = loaded.networks;
    startStep = loaded.step;
    session = createSession(config, networks);
    const pools = await loadTrainingState(checkpointDir, loaded.manifest, networks, session.optimizers);
    for (const [name, state] of Object.entries(pools)) {
      const pool = new ImagePool(config.data.poolSize, state.itemShape);
      pool.setState({ size: config.data.poolSize, itemShape: state.itemShape, items: state.items });
      session.pools[name] = pool;
    }
  } else {
    networks = buildModelNetworks(describeModelNetworks(config), config.seed);
    session = createSession(config, networks);
    await writeFile(logPath, '');
  }

  const total = Math.min(totalSteps(config), options.stopAtStep ?? Infinity);
  const normalization: { a: Normalization; b: Normalization } = {
    a: referenceNormalization(data.a.map((v) => v.normalization)),
    b: referenceNormalization(data.b.map((v) => v.normalization)),
  };
  const content = (step: number, notes: Record<string, unknown>): CheckpointContent => ({
    config,
    step,
    normalization,
    spacing: { a: medianSpacing(data.a), b: medianSpacing(data.b) },
    networks,
    notes: { ...options.notes, ...notes },
  });
  const sampler =
    config.kind === 'pix2pix'
      ? createPairedSampler(data.a.map((a, i) => ({ a, b: data.b[i] })), { spatialDims: config.spatialDims, ...config.data })
      : createUnpairedSampler(data.a, data.b, { spatialDims: config.spatialDims, ...config.data });

  const checkpointEvery = options.checkpointEvery ?? 500;
  const logEvery = options.logEvery ?? 10;
  const montageEvery = options.montageEvery ?? 0;
  const schedule = { initial: config.optimizer.learningRate, constantSteps: config.optimizer.constantSteps, decaySteps: config.optimizer.decaySteps };
  let lastLosses: Record<string, number> = {};
  let step = startStep;
  let interrupted = false;
  const loopStart = performance.now();
  const saveTraining = (): Promise<unknown> =>
    saveCheckpoint(checkpointDir, content(step, { lastLosses }), {
      training: { optimizers: session.optimizers, pools: Object.fromEntries(Object.entries(session.pools).map(([k, p]) => [k, p.getState()])) },
    });
  try {
    while (step < total) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const rng = createRng(stepSeed(config.seed, step));
      const batch = sampler.sample(rng);
      const lr = learningRateAt(step, schedule);
      for (const opt of Object.values(session.optimizers)) opt.learningRate = lr;
      lastLosses = session.takeStep(batch, step, rng);
      step++;
      for (const [k, v] of Object.entries(lastLosses)) {
        if (!Number.isFinite(v)) {
          throw new VoxshiftError('INTERNAL', `training diverged: loss ${k} is ${v} at step ${step}; lower the learning rate or check the input intensities`, {
            details: { step, losses: lastLosses },
          });
        }
      }
      const secondsPerStep = (performance.now() - loopStart) / 1000 / (step - startStep);
      if (step % logEvery === 0 || step === total) {
        await appendFile(logPath, `${JSON.stringify({ step, lr, ...lastLosses, secondsPerStep: Number(secondsPerStep.toFixed(4)), time: new Date().toISOString() })}\n`);
      }
      if (montageEvery > 0 && (step % montageEvery === 0 || step === total)) {
        await mkdir(join(outDir, 'montage'), { recursive: true });
        const { png } = renderMontage([session.montageRow(batch)], { scale: Math.max(1, Math.floor(128 / Math.max(...config.data.patchSize.slice(-2)))) });
        await writeFile(join(outDir, 'montage', `step-${String(step).padStart(6, '0')}.png`), png);
      }
      if (step % checkpointEvery === 0 && step < total) await saveTraining();
      options.onStep?.({ step, totalSteps: total, learningRate: lr, losses: lastLosses, secondsPerStep, etaSeconds: secondsPerStep * (total - step) });
      // Let signals (Ctrl-C) and I/O in between steps.
      await new Promise((r) => setImmediate(r));
    }
    await saveTraining();
    let modelDir: string | undefined;
    if (!interrupted && step >= totalSteps(config)) {
      modelDir = join(outDir, 'model');
      await saveCheckpoint(modelDir, content(step, { lastLosses }), { roles: [...networks.keys()].filter(isGenerator) });
    }
    return { step, interrupted, checkpointDir, ...(modelDir ? { modelDir } : {}), lastLosses, seconds: (performance.now() - t0) / 1000 };
  } finally {
    session.dispose();
    for (const n of networks.values()) n.dispose();
  }
}
