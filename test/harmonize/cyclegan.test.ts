/**
 * The learned harmonizer with tiny networks and a few steps (what it learns is measured by
 * bench/harmonize.ts, not here): one CycleGAN per source site with the site pair and the
 * normalisations in its checkpoint, a model file that reloads from anywhere, geometry and history
 * kept, deterministic output, reference-site images passed through, clear errors.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitHarmonizer, openHarmonizer, applyHarmonizer } from '../../harmonize/harmonizer.ts';
import { loadHarmonizerModel, saveHarmonizerModel, type CycleGanModel } from '../../harmonize/model.ts';
import { useBackend } from '../models3d/training/training-backend.ts';
import { heldOut, siteVolumes, tilted } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-hcyclegan-'));
const modelPath = join(tmp, 'run', 'cyclegan.json');
let model: CycleGanModel;

beforeAll(async () => {
  await useBackend('wasm');
  const fitted = await fitHarmonizer({
    method: 'cyclegan',
    sites: siteVolumes(1),
    reference: 'siteA',
    cyclegan: {
      modelPath,
      spatialDims: 2,
      config: {
        generator: { ngf: 4, blocks: 1 },
        discriminator: { ndf: 4, layers: 2 },
        optimizer: { constantSteps: 1, decaySteps: 1 },
        data: { patchSize: [16, 16], poolSize: 2 },
        seed: 5,
      },
    },
  });
  model = fitted as CycleGanModel;
  await saveHarmonizerModel(model, modelPath);
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('cyclegan harmonizer', () => {
  it('trains one site → reference model per source site, recording the site pair', () => {
    expect(model).toMatchObject({ method: 'cyclegan', reference: 'siteA', sites: ['siteA', 'siteB', 'siteC'], subjects: { siteA: 1, siteB: 1, siteC: 1 }, modality: 'MR' });
    expect(Object.keys(model.parameters.models)).toEqual(['siteB', 'siteC']);
    for (const site of ['siteB', 'siteC']) {
      const dir = join(tmp, 'run', model.parameters.models[site]);
      expect(model.parameters.models[site]).toBe(join('cyclegan.cyclegan', site, 'model'));
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      expect(manifest.config.kind).toBe('cyclegan');
      expect(manifest.config.domains.a).toMatchObject({ name: site, modality: 'MR', normalization: { type: 'mr-percentile' } });
      expect(manifest.config.domains.b).toMatchObject({ name: 'siteA', modality: 'MR' });
      expect(manifest.normalization.a.type).toBe('mr-percentile');
      expect(manifest.normalization.b.high).toBeGreaterThan(manifest.normalization.b.low);
      expect(manifest.step).toBe(2);
    }
  });

  it('keeps the geometry, appends one history entry, and is deterministic and leak-free', async () => {
    const h = openHarmonizer(model, { baseDir: join(tmp, 'run') });
    try {
      const input = tilted(heldOut('siteB').image);
      await h.apply(input, { site: 'siteB' });
      const before = tf.memory().numTensors;
      const a = await h.apply(input, { site: 'siteB' });
      const b = await h.apply(input, { site: 'siteB' });
      expect(tf.memory().numTensors).toBe(before);
      expect(b.data).toEqual(a.data);
      expect(a.shape).toEqual(input.shape);
      expect(a.spacing).toEqual(input.spacing);
      expect(a.origin).toEqual(input.origin);
      expect(a.direction).toEqual(input.direction);
      expect(a.modality).toBe('MR');
      expect(a.history.slice(0, -1)).toEqual(input.history);
      expect(a.history[a.history.length - 1]).toMatchObject({ op: 'harmonize', params: { method: 'cyclegan', reference: 'siteA', site: 'siteB' } });
      expect(a.data.every(Number.isFinite)).toBe(true);
      // The tilted grid's spacing is far from the training phantoms': translate's warning is kept.
      expect(a.meta.warnings.map((w) => w.code)).toEqual(['SPACING_DIFFERS_FROM_TRAINING']);
      const ref = await h.apply(input, { site: 'siteA' });
      expect(ref.data).toEqual(Float32Array.from(input.data));
    } finally {
      h.dispose();
    }
  });

  it('reloads from its file, also after the folder is moved', async () => {
    const input = heldOut('siteC').image;
    const direct = await applyHarmonizer(model, input, { site: 'siteC', baseDir: join(tmp, 'run') });
    const moved = join(tmp, 'moved');
    cpSync(join(tmp, 'run'), moved, { recursive: true });
    const loaded = await loadHarmonizerModel(join(moved, 'cyclegan.json'));
    expect(loaded).toEqual(model);
    const again = await applyHarmonizer(join(moved, 'cyclegan.json'), input, { site: 'siteC' });
    expect(again.data).toEqual(direct.data);
    expect(existsSync(join(moved, 'cyclegan.cyclegan', 'siteC', 'model', 'manifest.json'))).toBe(true);
  });

  it('needs the site and refuses unknown ones', async () => {
    const input = heldOut('siteB').image;
    await expect(applyHarmonizer(model, input, { baseDir: join(tmp, 'run') })).rejects.toThrow(/one model per source site \(siteB, siteC\); say which site/);
    await expect(applyHarmonizer(model, input, { site: 'siteQ', baseDir: join(tmp, 'run') })).rejects.toThrow(/no model for site "siteQ"; it maps siteB, siteC → siteA/);
  });

  it('refuses a fit without a source site or without modelPath', async () => {
    await expect(fitHarmonizer({ method: 'cyclegan', sites: { siteA: siteVolumes(1).siteA }, reference: 'siteA', cyclegan: { modelPath: join(tmp, 'x.json') } })).rejects.toThrow(
      /needs at least one site besides the reference siteA/,
    );
    await expect(fitHarmonizer({ method: 'cyclegan', sites: siteVolumes(1), reference: 'siteA' })).rejects.toThrow(/needs cyclegan options/);
  });
});
