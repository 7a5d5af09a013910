/**
 * translate(volume, model) with saved tiny models: the output is on the source grid in the target's
 * modality and units, the source is normalised exactly as in training, and wrong inputs (modality,
 * direction, label maps) are refused; a spacing far from training's adds a warning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejected } from '../../helpers/rejected.ts';
import * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint } from '../../../models3d/checkpoint/checkpoint.ts';
import { prepareDomainVolume } from '../../../models3d/data/domain-volume.ts';
import { phantomSet } from '../../../models3d/data/phantom-data.ts';
import { loadTranslator, translate } from '../../../models3d/inference/translate.ts';
import type { ModelConfig } from '../../../models3d/model/config.ts';
import type { Network } from '../../../models3d/networks/build-network.ts';
import { deriveVolume, type Volume } from '../../../volumes/volume.ts';
import { useBackend } from '../training/training-backend.ts';
import { tinyConfig, tinyContent } from '../training/tiny-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-translate-'));
const subject = phantomSet({ count: 1, shape: [32, 32, 16], seed: 100_001 });
const mr = subject.a[0];
const ct = subject.b[0];
let cycleDir = '';
let pix2pixDir = '';
let cycleConfig: ModelConfig;

/** Saves the generators of a freshly initialised tiny model trained (nominally) at the phantom's spacing. */
async function saveModel(config: ModelConfig, name: string): Promise<string> {
  const content = tinyContent(config);
  const dir = join(tmp, name);
  try {
    await saveCheckpoint(dir, { ...content, spacing: { a: [...mr.spacing], b: [...ct.spacing] } }, { roles: [...content.networks.keys()].filter((r) => r.startsWith('gen')) });
  } finally {
    for (const n of content.networks.values()) n.dispose();
  }
  return dir;
}

function expectSameGrid(out: Volume, like: Volume): void {
  expect(out.shape).toEqual(like.shape);
  expect(out.spacing).toEqual(like.spacing);
  expect(out.origin).toEqual(like.origin);
  expect(out.direction).toEqual(like.direction);
}

beforeAll(async () => {
  await useBackend('wasm');
  cycleConfig = tinyConfig('cyclegan', 2);
  cycleDir = await saveModel(cycleConfig, 'cyclegan');
  pix2pixDir = await saveModel(tinyConfig('pix2pix', 2), 'pix2pix');
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

describe('translate', () => {
  it('MR → CT: source grid, CT modality in HU, exactly the generator on the training normalisation', async () => {
    const before = tf.memory().numTensors;
    const out = await translate(mr, cycleDir);
    expect(tf.memory().numTensors).toBe(before);
    expectSameGrid(out, mr);
    expect(out.modality).toBe('CT');
    expect(out.meta.units).toBe('HU');
    expect(out.kind).toBe('intensity');
    expect(out.meta.warnings.map((w) => w.code)).not.toContain('SPACING_DIFFERS_FROM_TRAINING');

    // Reference: the training preprocessing (percentiles inside the body), axial slices as a batch
    // [z, y, x, 1], the A→B generator, the CT window inverted.
    const t = await loadTranslator(cycleDir, 'AtoB', { runtime: 'tfjs' });
    try {
      const [nx, ny, nz] = mr.shape;
      const prepared = prepareDomainVolume(mr, cycleConfig.domains.a.normalization, 'mr');
      const y = tf.tidy(() => (t.generator as Network).apply(tf.tensor(prepared.data, [nz, ny, nx, 1])));
      const yd = y.dataSync();
      y.dispose();
      const { lower, upper } = { lower: -1024, upper: 3000 };
      let worst = 0;
      for (let i = 0; i < yd.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - (lower + ((yd[i] + 1) / 2) * (upper - lower))));
      expect(worst).toBeLessThan(0.05);
    } finally {
      t.dispose();
    }
  });

  it('a grid that is no multiple of the generator size (30×26×6) comes back on the same grid', async () => {
    const small = phantomSet({ count: 1, shape: [30, 26, 6], seed: 100_002 }).a[0];
    const out = await translate(small, cycleDir);
    expectSameGrid(out, small);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });

  it('CycleGAN B→A: CT → MR in arbitrary units', async () => {
    const out = await translate(ct, cycleDir, { direction: 'BtoA' });
    expectSameGrid(out, ct);
    expect(out.modality).toBe('MR');
    expect(out.meta.units).toBe('arbitrary');
  });

  it('a CT input to an MR → CT model is refused naming the modality, unless the mismatch is allowed', async () => {
    const before = tf.memory().numTensors;
    const e = await rejected(translate(ct, cycleDir));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.param).toBe('volume');
    expect(e.message).toMatch(/input is CT/);
    expect(e.message).toMatch(/MR/);
    expect(tf.memory().numTensors).toBe(before);
    const out = await translate(ct, cycleDir, { allowModalityMismatch: true });
    expectSameGrid(out, ct);
    expect(out.modality).toBe('CT');
  });

  it('B → A with a Pix2Pix model is refused', async () => {
    const before = tf.memory().numTensors;
    const e = await rejected(translate(mr, pix2pixDir, { direction: 'BtoA' }));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.param).toBe('direction');
    expect(tf.memory().numTensors).toBe(before);
    const out = await translate(mr, pix2pixDir);
    expect(out.modality).toBe('CT');
  });

  it('an unknown direction and a label map are refused', async () => {
    const e = await rejected(translate(mr, cycleDir, { direction: 'sideways' as 'AtoB' }));
    expect(e.param).toBe('direction');
    const labels = await rejected(translate(subject.labels[0], cycleDir, { allowModalityMismatch: true }));
    expect(labels.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(labels.message).toMatch(/label/);
  });

  it('a spacing far from the training spacing adds SPACING_DIFFERS_FROM_TRAINING', async () => {
    // The 2D model slices along axis 2: thicker slices do not matter to it, a coarser in-plane grid does.
    const thick = deriveVolume(mr, { data: mr.data, spacing: [mr.spacing[0], mr.spacing[1], mr.spacing[2] * 3] });
    expect((await translate(thick, cycleDir)).meta.warnings.map((x) => x.code)).not.toContain('SPACING_DIFFERS_FROM_TRAINING');
    const coarse = deriveVolume(mr, { data: mr.data, spacing: [mr.spacing[0] * 3, mr.spacing[1], mr.spacing[2]] });
    const out = await translate(coarse, cycleDir);
    const w = out.meta.warnings.find((x) => x.code === 'SPACING_DIFFERS_FROM_TRAINING');
    expect(w).toBeDefined();
    expect(w?.message).toMatch(/training spacing/);
    // Less than 2× off is fine.
    const near = deriveVolume(mr, { data: mr.data, spacing: [mr.spacing[0] * 1.5, mr.spacing[1], mr.spacing[2]] });
    expect((await translate(near, cycleDir)).meta.warnings.map((x) => x.code)).not.toContain('SPACING_DIFFERS_FROM_TRAINING');
  });

  it('a loaded translator is reused across volumes and gives the same result as the folder', async () => {
    const before = tf.memory().numTensors;
    const t = await loadTranslator(cycleDir);
    expect(t.source.modality).toBe('MR');
    expect(t.target.modality).toBe('CT');
    const one = await translate(mr, t);
    const two = await translate(mr, t);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(two.data)).toEqual(Array.from(one.data));
    expect(Array.from((await translate(mr, cycleDir)).data)).toEqual(Array.from(one.data));
  });
});
