/**
 * translate() on onnxruntime and on tfjs: the same volume through the same saved generator gives the
 * same output within 1e-4 of the [−1, 1] range (2-D CycleGAN both directions, 2-D Pix2Pix U-Net, 3-D
 * sliding window), the default picks onnx when the folder has an export and tfjs when not (and says
 * so), and runtime onnx on a folder without an export is a clear error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejected } from '../../helpers/rejected.ts';
import * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint } from '../../../models3d/checkpoint/checkpoint.ts';
import { phantomSet } from '../../../models3d/data/phantom-data.ts';
import { chooseRuntime, loadTranslator, translate, type Direction } from '../../../models3d/inference/translate.ts';
import type { ModelConfig } from '../../../models3d/model/config.ts';
import { useBackend } from '../training/training-backend.ts';
import { tinyConfig, tinyContent } from '../training/tiny-model.ts';
import { maxAbsDiff } from './inference-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-translate-runtime-'));
const subject = phantomSet({ count: 1, shape: [28, 24, 12], seed: 100_007 });
const mr = subject.a[0];
const ct = subject.b[0];

/** Saves a tiny model's generators with weights N(0, 0.2) (so the output is far from constant). */
async function saveModel(config: ModelConfig, name: string, onnx = true): Promise<string> {
  const content = tinyContent(config);
  const dir = join(tmp, name);
  try {
    tf.tidy(() => {
      for (const net of content.networks.values()) for (const v of net.variables()) v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', 3));
    });
    await saveCheckpoint(dir, { ...content, spacing: { a: [...mr.spacing], b: [...ct.spacing] } }, {
      roles: [...content.networks.keys()].filter((r) => r.startsWith('gen')),
      onnx,
    });
  } finally {
    for (const n of content.networks.values()) n.dispose();
  }
  return dir;
}

let cycle2d = '';
let pix2pix2d = '';
let cycle3d = '';
let noOnnx = '';

beforeAll(async () => {
  await useBackend('wasm');
  cycle2d = await saveModel(tinyConfig('cyclegan', 2), 'cycle2d');
  pix2pix2d = await saveModel(tinyConfig('pix2pix', 2, { generator: { type: 'unet', ngf: 4, depth: 3 } }), 'pix2pix2d');
  cycle3d = await saveModel(tinyConfig('cyclegan', 3), 'cycle3d');
  noOnnx = await saveModel(tinyConfig('pix2pix', 2), 'no-onnx', false);
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

describe('translate: runtime onnx = runtime tfjs', () => {
  const cases: [string, () => string, Direction][] = [
    ['2-D CycleGAN ResNet A→B', () => cycle2d, 'AtoB'],
    ['2-D CycleGAN ResNet B→A', () => cycle2d, 'BtoA'],
    ['2-D Pix2Pix U-Net', () => pix2pix2d, 'AtoB'],
    ['3-D CycleGAN ResNet, sliding window', () => cycle3d, 'AtoB'],
  ];
  for (const [name, dir, direction] of cases) {
    it(name, async () => {
      const input = direction === 'AtoB' ? mr : ct;
      const before = tf.memory().numTensors;
      const onnx = await translate(input, dir(), { direction, runtime: 'onnx' });
      expect(tf.memory().numTensors).toBe(before);
      const tfjs = await translate(input, dir(), { direction, runtime: 'tfjs' });
      expect(tf.memory().numTensors).toBe(before);
      expect(onnx.shape).toEqual(input.shape);
      // 1e-4 of the normalised range, in output units: CT window 4024 HU wide, MR percentile range.
      const t = await loadTranslator(dir(), direction, { runtime: 'tfjs' });
      const n = t.targetNormalization;
      const width = n.type === 'ct-window' ? n.upper - n.lower : n.high - n.low;
      t.dispose();
      const spread = Math.max(...tfjs.data) - Math.min(...tfjs.data);
      expect(spread).toBeGreaterThan(0.05 * width);
      expect(maxAbsDiff(onnx.data, tfjs.data)).toBeLessThanOrEqual((1e-4 * width) / 2);
      expect(onnx.history.at(-1)?.params).toEqual(tfjs.history.at(-1)?.params);
    });
  }
});

describe('choosing the runtime', () => {
  it('auto: onnx when the folder has an export, tfjs when not; the log says which and why', async () => {
    expect(await chooseRuntime(cycle2d)).toBe('onnx');
    expect(await chooseRuntime(cycle2d, 'BtoA')).toBe('onnx');
    expect(await chooseRuntime(noOnnx)).toBe('tfjs');
    expect(await chooseRuntime(noOnnx, 'AtoB', 'onnx')).toBe('onnx');
    const logs: string[] = [];
    const a = await loadTranslator(cycle2d, 'AtoB', { log: (m) => logs.push(m), threads: 1 });
    const b = await loadTranslator(noOnnx, 'AtoB', { log: (m) => logs.push(m) });
    try {
      expect(a.runtime).toBe('onnx');
      expect(a.session?.threads).toBe(1);
      expect(a.generator).toBeUndefined();
      expect(a.runtimeDescription).toMatch(/^onnxruntime-node .*CPU execution provider, 1 thread$/);
      expect(b.runtime).toBe('tfjs');
      expect(b.runtimeDescription).toBe('tfjs (wasm backend)');
      expect(b.session).toBeUndefined();
      expect(logs[0]).toMatch(/genAB\.onnx on onnxruntime-node .*\(runtime auto: the model has an ONNX export\)/);
      expect(logs[1]).toMatch(/gen on tfjs \(wasm backend\) \(runtime auto: no ONNX export .*voxshift export --model/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('runtime onnx without an export is FILE_NOT_FOUND naming the fix; an unknown runtime is refused', async () => {
    const e = await rejected(translate(mr, noOnnx, { runtime: 'onnx' }));
    expect(e.code).toBe('VOXSHIFT_E_FILE_NOT_FOUND');
    expect(e.param).toBe('runtime');
    expect(e.message).toMatch(/runtime onnx needs an ONNX export of the gen generator, but the checkpoint has no ONNX export of gen/);
    expect(e.message).toMatch(/voxshift export --model/);
    const bad = await rejected(translate(mr, cycle2d, { runtime: 'gpu' as 'onnx' }));
    expect(bad.param).toBe('runtime');
  });

  it('one onnx translator (one session) serves several volumes with identical results', async () => {
    const t = await loadTranslator(cycle2d);
    try {
      const one = await translate(mr, t);
      const two = await translate(mr, t);
      expect(Array.from(two.data)).toEqual(Array.from(one.data));
    } finally {
      t.dispose();
    }
  });
});
