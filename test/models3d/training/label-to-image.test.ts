/**
 * Label → image Pix2Pix: a tiny run on phantom label maps → T1 whose L1 goes down, inference on a
 * label map gives an image on its grid whose brightest tissue is the training images' brightest,
 * save → load gives identical output (tfjs twice; onnxruntime close), same seed → same weights,
 * clear errors for label values outside the classes and for non-integer volumes, no leaked tensors.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../../models3d/checkpoint/checkpoint.ts';
import { loadTranslator, translate } from '../../../models3d/inference/translate.ts';
import { deriveVolume } from '../../../volumes/volume.ts';
import { rejected } from '../../helpers/rejected.ts';
import { useBackend } from './training-backend.ts';
import { brightest, labelPhantoms, perLabelMeans, trainLabelModel } from './label-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-l2i-'));
const phantoms = labelPhantoms([1, 2]);
let modelDir = '';

beforeAll(async () => {
  await useBackend('wasm');
  const r = await trainLabelModel(phantoms, join(tmp, 'run'), 200);
  modelDir = r.modelDir as string;
}, 25_000);
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

describe('label → image Pix2Pix', () => {
  it('records the label domain, one-hot channels and the rank window in the checkpoint; L1 goes down', async () => {
    const m = await readManifest(modelDir);
    const classes = m.config.domains.a.normalization;
    expect(classes).toEqual({ type: 'labels', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(m.config.domains.a).toMatchObject({ name: 'labels', modality: 'SEG' });
    expect(m.networks.gen?.inputChannels).toBe(10);
    expect(m.normalization.a).toEqual({ type: 'ct-window', lower: 0, upper: 9 });
    const log = readFileSync(join(tmp, 'run', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { l1: number });
    const mean = (xs: { l1: number }[]): number => xs.reduce((s, x) => s + x.l1, 0) / xs.length;
    expect(mean(log.slice(-20))).toBeLessThan(0.5 * mean(log.slice(0, 10)));
  });

  it('makes an image on the label map grid whose brightest tissue is the training images\' brightest', async () => {
    const p = labelPhantoms([7])[0];
    const before = tf.memory().numTensors;
    const img = await translate(p.labels, modelDir, { runtime: 'tfjs' });
    expect(tf.memory().numTensors).toBe(before);
    expect(img.kind).toBe('intensity');
    expect(img.modality).toBe('MR');
    expect(img.shape).toEqual(p.labels.shape);
    expect(img.spacing).toEqual(p.labels.spacing);
    expect(img.origin).toEqual(p.labels.origin);
    expect(img.direction).toEqual(p.labels.direction);
    const truth = perLabelMeans(p.t1, p.labels);
    const made = perLabelMeans(img, p.labels);
    expect(brightest(made)).toBe(brightest(truth));
    // Background stays darkest.
    expect(Math.min(...made.values())).toBe(made.get(0));
  });

  it('save → load gives identical output (tfjs), onnxruntime agrees, and inference is deterministic', async () => {
    const p = phantoms[0];
    const a = await translate(p.labels, modelDir, { runtime: 'tfjs' });
    const b = await translate(p.labels, modelDir, { runtime: 'tfjs' });
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    const t = await loadTranslator(modelDir, 'AtoB', { runtime: 'onnx', threads: 1 });
    try {
      const c = await translate(p.labels, t);
      let maxDiff = 0;
      for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - c.data[i]));
      expect(maxDiff).toBeLessThan(1);
    } finally {
      t.dispose();
    }
  });

  it('same seed → identical weights', async () => {
    const r1 = await trainLabelModel(phantoms, join(tmp, 'det1'), 6);
    const r2 = await trainLabelModel(phantoms, join(tmp, 'det2'), 6);
    expect(readFileSync(join(r1.modelDir as string, 'weights.bin')).equals(readFileSync(join(r2.modelDir as string, 'weights.bin')))).toBe(true);
  });

  it('refuses label values outside the classes and volumes that are not integer label maps', async () => {
    const p = phantoms[0];
    const bad = Uint8Array.from(p.labels.data);
    bad[5 + 32 * (3 + 32 * 2)] = 12;
    const e = await rejected(translate(deriveVolume(p.labels, { data: bad }), modelDir, { runtime: 'tfjs' }));
    expect(e.message).toMatch(/label value 12 \(voxel \[5, 3, 2\]\) is not one of the model's classes 0, 1, 2/);
    const e2 = await rejected(translate(p.t1, modelDir, { runtime: 'tfjs' }));
    expect(e2.message).toMatch(/not an integer; a label domain takes integer label maps only/);
  });
});
