/**
 * trainModel on tiny networks and small phantoms: leak-free steps, falling losses, exact resume
 * (CycleGAN with its image pools, Pix2Pix with dropout), config checks on resume, a clean stop on
 * abort, the JSONL log and PNG montages, and a 3D CubeGAN run translated with a sliding window.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejected } from '../../helpers/rejected.ts';
import * as tf from '@tensorflow/tfjs-core';
import { readManifest } from '../../../models3d/checkpoint/checkpoint.ts';
import { phantomSet } from '../../../models3d/data/phantom-data.ts';
import { translate } from '../../../models3d/inference/translate.ts';
import type { ModelConfig } from '../../../models3d/model/config.ts';
import { trainModel, type StepReport, type TrainModelOptions, type TrainModelResult, type TrainingData } from '../../../models3d/training/train-model.ts';
import { useBackend } from './training-backend.ts';
import { phantomTrainingData, tinyConfig, TINY_PHANTOM_SHAPE } from './tiny-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-train-'));
let dirs = 0;
const outDir = (name: string): string => join(tmp, `${name}-${++dirs}`);

beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

function train(config: ModelConfig, data: TrainingData, dir: string, extra: Partial<TrainModelOptions> = {}): Promise<TrainModelResult> {
  return trainModel({ config, data, outDir: dir, logEvery: 1, ...extra });
}

const bytes = (path: string): Buffer => readFileSync(path);

function logLines(dir: string): Record<string, number | string>[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, number | string>);
}

const CYCLE_LOSSES = ['advAB', 'advBA', 'cycleA', 'cycleB', 'identityA', 'identityB', 'generator', 'discA', 'discB'];
const PIX2PIX_LOSSES = ['adv', 'l1', 'generator', 'disc'];

describe('trainModel', () => {
  for (const kind of ['cyclegan', 'pix2pix'] as const) {
    it(`${kind}: every step is leak-free (numTensors after step 2 = after step 5), and the run frees everything`, async () => {
      const config = tinyConfig(kind, 2, { optimizer: { constantSteps: 6, decaySteps: 0 } });
      expect(config.data.poolSize).toBe(kind === 'cyclegan' ? 3 : 0);
      const data = phantomTrainingData(config);
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      const reports: StepReport[] = [];
      const r = await train(config, data, outDir(`leak-${kind}`), {
        montageEvery: 2,
        onStep: (s) => {
          counts.push(tf.memory().numTensors);
          reports.push(s);
        },
      });
      expect(r.step).toBe(6);
      expect(counts).toHaveLength(6);
      expect(counts[4]).toBe(counts[1]);
      expect(counts[5]).toBe(counts[1]);
      expect(tf.memory().numTensors).toBe(before);
      expect(reports.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(reports.every((s) => s.totalSteps === 6 && s.learningRate === 2e-4 && s.secondsPerStep > 0)).toBe(true);
      expect(reports[5].etaSeconds).toBe(0);
      expect(Object.keys(reports[0].losses).sort()).toEqual([...(kind === 'cyclegan' ? CYCLE_LOSSES : PIX2PIX_LOSSES)].sort());
    });
  }

  it('pix2pix: the L1 loss falls clearly over 60 steps on phantoms', async () => {
    const config = tinyConfig('pix2pix', 2, {
      generator: { type: 'unet', ngf: 4, depth: 3 },
      optimizer: { learningRate: 1e-3, constantSteps: 60, decaySteps: 0 },
      data: { patchSize: [32, 32] },
    });
    const data = phantomTrainingData(config);
    const l1: number[] = [];
    await train(config, data, outDir('fall'), { logEvery: 20, onStep: (s) => l1.push(s.losses.l1) });
    const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length;
    const first = mean(l1.slice(0, 10));
    const last = mean(l1.slice(-10));
    expect(l1.every(Number.isFinite)).toBe(true);
    // Observed about 74 → 15 (λ_L1 = 100): require at least a halving.
    expect(last).toBeLessThan(0.5 * first);
  });

  for (const kind of ['cyclegan', 'pix2pix'] as const) {
    it(`${kind}: stopping at step 4 and resuming to 8 gives bitwise the same model as 8 steps straight`, async () => {
      const config = tinyConfig(kind, 2);
      const data = phantomTrainingData(config);
      const straight = outDir(`straight-${kind}`);
      const a = await train(config, data, straight);
      expect(a).toMatchObject({ step: 8, interrupted: false });
      expect(a.modelDir).toBe(join(straight, 'model'));

      const split = outDir(`split-${kind}`);
      const b1 = await train(config, data, split, { stopAtStep: 4 });
      expect(b1.step).toBe(4);
      expect(b1.interrupted).toBe(false);
      expect(b1.modelDir).toBeUndefined();
      expect(existsSync(join(split, 'model'))).toBe(false);
      const mid = await readManifest(join(split, 'checkpoint'));
      expect(mid.step).toBe(4);
      expect(mid.training).toBeDefined();
      if (kind === 'cyclegan') expect(mid.training?.pools).toEqual({ a: { itemShape: [1, 16, 16, 1], count: 3 }, b: { itemShape: [1, 16, 16, 1], count: 3 } });
      const b2 = await train(config, data, split, { resume: true });
      expect(b2).toMatchObject({ step: 8, interrupted: false });

      expect(bytes(join(split, 'model', 'weights.bin')).equals(bytes(join(straight, 'model', 'weights.bin')))).toBe(true);
      // Discriminators, optimizer moments and pools too.
      expect(bytes(join(split, 'checkpoint', 'weights.bin')).equals(bytes(join(straight, 'checkpoint', 'weights.bin')))).toBe(true);
      expect(bytes(join(split, 'checkpoint', 'training-state.bin')).equals(bytes(join(straight, 'checkpoint', 'training-state.bin')))).toBe(true);
      expect(b2.lastLosses).toEqual(a.lastLosses);
      // The log of the resumed run continues the first part's.
      expect(logLines(split).map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(logLines(split)).toHaveLength(8);

      // The comparison can fail: another seed trains another model.
      const other = outDir(`other-${kind}`);
      await train({ ...config, seed: config.seed + 1 }, data, other);
      expect(bytes(join(other, 'model', 'weights.bin')).equals(bytes(join(straight, 'model', 'weights.bin')))).toBe(false);
    });
  }

  it('resuming with another config is INCOMPATIBLE_CHECKPOINT; resuming with no checkpoint is FILE_NOT_FOUND', async () => {
    const config = tinyConfig('cyclegan', 2);
    const data = phantomTrainingData(config);
    const dir = outDir('incompatible');
    await train(config, data, dir, { stopAtStep: 2 });
    const before = tf.memory().numTensors;
    const e = await rejected(train({ ...config, loss: { ...config.loss, lambdaCycle: 5 } }, data, dir, { resume: true }));
    expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
    expect(e.message).toMatch(/different configuration/);
    expect(tf.memory().numTensors).toBe(before);
    // The checkpoint is untouched.
    expect((await readManifest(join(dir, 'checkpoint'))).step).toBe(2);
    const missing = await rejected(train(config, data, outDir('nothing'), { resume: true }));
    expect(missing.code).toBe('VOXSHIFT_E_FILE_NOT_FOUND');
  });

  it('refuses data without both domains, and unequal Pix2Pix pairs', async () => {
    const config = tinyConfig('pix2pix', 2);
    const data = phantomTrainingData(config);
    const e1 = await rejected(train(config, { a: data.a, b: [] }, outDir('nodata')));
    expect(e1.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e1.param).toBe('data');
    const e2 = await rejected(train(config, { a: data.a, b: data.b.slice(1) }, outDir('unpaired')));
    expect(e2.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e2.message).toMatch(/pairs/);
  });

  it('an abort stops after the current step with a resumable checkpoint; resuming finishes the same model', async () => {
    const config = tinyConfig('pix2pix', 2);
    const data = phantomTrainingData(config);
    const dir = outDir('abort');
    const controller = new AbortController();
    const r = await train(config, data, dir, {
      signal: controller.signal,
      onStep: (s) => {
        if (s.step === 3) controller.abort();
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.step).toBe(3);
    expect(r.modelDir).toBeUndefined();
    expect(existsSync(join(dir, 'model'))).toBe(false);
    const m = await readManifest(r.checkpointDir);
    expect(m.step).toBe(3);
    expect(m.training?.optimizerSteps).toEqual({ generator: 3, discriminator: 3 });
    const done = await train(config, data, dir, { resume: true });
    expect(done).toMatchObject({ step: 8, interrupted: false });
    const straight = outDir('abort-reference');
    await train(config, data, straight);
    expect(bytes(join(dir, 'model', 'weights.bin')).equals(bytes(join(straight, 'model', 'weights.bin')))).toBe(true);
  });

  it('writes log.jsonl lines with the step, rate, losses and pace, and PNG montages', async () => {
    const config = tinyConfig('cyclegan', 2);
    const data = phantomTrainingData(config);
    const dir = outDir('log');
    await train(config, data, dir, { logEvery: 3, montageEvery: 4 });
    const lines = logLines(dir);
    // Every 3rd step and the last one.
    expect(lines.map((l) => l.step)).toEqual([3, 6, 8]);
    for (const l of lines) {
      for (const k of [...CYCLE_LOSSES, 'lr', 'secondsPerStep']) {
        expect(typeof l[k]).toBe('number');
        expect(Number.isFinite(l[k])).toBe(true);
      }
      expect(Number.isNaN(Date.parse(String(l.time)))).toBe(false);
    }
    // Step indices 0–3 at the initial rate, then a linear decay over 4 steps: logged step 6 (index 5)
    // trains at 2e-4·(1 − 1/4), step 8 (index 7) at 2e-4·(1 − 3/4).
    expect(lines[0].lr).toBe(2e-4);
    expect(lines[1].lr).toBeCloseTo(1.5e-4, 12);
    expect(lines[2].lr).toBeCloseTo(0.5e-4, 12);

    expect(readdirSync(join(dir, 'montage')).sort()).toEqual(['step-000004.png', 'step-000008.png']);
    const png = PNG.sync.read(readFileSync(join(dir, 'montage', 'step-000008.png')));
    // One row of three 16² tiles (input | translation | reconstruction), scaled by a whole factor, with gaps of 4.
    const cell = (png.width - 4) / 3 - 4;
    expect(Number.isInteger(cell) && cell % 16 === 0 && cell >= 16).toBe(true);
    let lit = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] > 0) lit++;
    expect(lit).toBeGreaterThan((cell * cell) / 4);
  });

  it('3D CubeGAN: a few steps on 8³ patches, then translate() fills the source grid with a sliding window', async () => {
    const config = tinyConfig('cyclegan', 3, { optimizer: { constantSteps: 3, decaySteps: 0 } });
    const data = phantomTrainingData(config);
    const dir = outDir('cube');
    const before = tf.memory().numTensors;
    const r = await train(config, data, dir, { montageEvery: 3 });
    expect(r).toMatchObject({ step: 3, interrupted: false });
    expect(Object.values(r.lastLosses).every(Number.isFinite)).toBe(true);
    expect(readdirSync(join(dir, 'montage'))).toEqual(['step-000003.png']);
    const mr = phantomSet({ count: 1, shape: TINY_PHANTOM_SHAPE, seed: 50 }).a[0];
    const windows: number[] = [];
    const ct = await translate(mr, r.modelDir as string, { onProgress: (done) => windows.push(done) });
    expect(ct.shape).toEqual(mr.shape);
    expect(ct.spacing).toEqual(mr.spacing);
    expect(ct.origin).toEqual(mr.origin);
    expect(ct.direction).toEqual(mr.direction);
    expect(ct.modality).toBe('CT');
    expect(ct.meta.units).toBe('HU');
    // 8³ windows over 32×32×16: many windows, not one whole-volume pass.
    expect(windows.length).toBeGreaterThan(1);
    expect(ct.data.every(Number.isFinite)).toBe(true);
    // Inside the CT window the model was normalised with.
    expect(Math.min(...ct.data)).toBeGreaterThanOrEqual(-1024 - 1e-3);
    expect(Math.max(...ct.data)).toBeLessThanOrEqual(3000 + 1e-3);
    expect(tf.memory().numTensors).toBe(before);
  });
});
