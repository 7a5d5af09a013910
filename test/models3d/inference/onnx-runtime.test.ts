/**
 * The onnxruntime generator wrapper: one session reused across calls (same input, same output; inputs
 * that are views of a larger buffer), shape checks, released sessions, the CPU provider chosen when
 * the CUDA libraries are not installed, a clear error for a forced CUDA provider or a non-ONNX file;
 * and translateVolume driving it as a buffer generator.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejected } from '../../helpers/rejected.ts';
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx } from '../../../models3d/export/onnx-export.ts';
import { createOnnxGenerator, cudaProviderInstalled } from '../../../models3d/inference/onnx-runtime.ts';
import { translateVolume } from '../../../models3d/inference/translate-volume.ts';
import { buildNetwork } from '../../../models3d/networks/build-network.ts';
import { describeResnetGenerator } from '../../../models3d/networks/resnet-generator.ts';
import { createRng } from '../../../models3d/networks/rng.ts';
import { useBackend } from '../training/training-backend.ts';
import { ctVolume, identityOptions, maxAbsDiff } from './inference-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-ort-'));
beforeAll(async () => {
  await useBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny ResNet generator's ONNX bytes. */
function tinyOnnx(dims: 2 | 3 = 2): Uint8Array {
  const spec = describeResnetGenerator({ spatialDims: dims, ngf: 2, blocks: 1 });
  const net = buildNetwork(spec, createRng(1), { trainable: false });
  try {
    return exportOnnx(spec, new Map([...net.params].map(([k, v]) => [k, v.dataSync() as Float32Array])));
  } finally {
    net.dispose();
  }
}

describe('createOnnxGenerator', () => {
  it('reports its provider and shape; repeated calls and buffer views give the same output', async () => {
    const logs: string[] = [];
    const g = await createOnnxGenerator(tinyOnnx(), { threads: 1, log: (m) => logs.push(m) });
    try {
      expect(cudaProviderInstalled()).toBe(false); // the npm package ships no CUDA libraries
      expect(g.provider).toBe('cpu');
      expect(g.threads).toBe(1);
      expect(g.description).toMatch(/^onnxruntime-node \d+\.\d+\.\d+, CPU execution provider, 1 thread$/);
      expect(logs).toEqual([`onnxruntime: ${g.description}`]);
      expect([g.spatialDims, g.inputChannels, g.outputChannels]).toEqual([2, 1, 1]);
      const rng = createRng(2);
      const big = Float32Array.from({ length: 3 * 64 }, () => rng.next() * 2 - 1);
      const view = big.subarray(64, 128);
      const a = await g.run(view, [1, 8, 8, 1]);
      const b = await g.run(Float32Array.from(view), [1, 8, 8, 1]);
      expect(a).toHaveLength(64);
      expect(Array.from(a)).toEqual(Array.from(b));
      // Batched: the middle item equals the single call.
      const batch = await g.run(big, [3, 8, 8, 1]);
      expect(maxAbsDiff(batch.subarray(64, 128), a)).toBeLessThan(1e-6);
    } finally {
      await g.release();
    }
  });

  it('reuseOutput: one output buffer per shape, each call correct when it returns', async () => {
    const bytes = tinyOnnx();
    const plain = await createOnnxGenerator(bytes, { threads: 1 });
    const reusing = await createOnnxGenerator(bytes, { threads: 1, reuseOutput: true });
    try {
      const rng = createRng(5);
      const [x1, x2] = [0, 1].map(() => Float32Array.from({ length: 128 }, () => rng.next() * 2 - 1));
      const a = await reusing.run(x1, [2, 8, 8, 1]);
      expect(Array.from(a)).toEqual(Array.from(await plain.run(x1, [2, 8, 8, 1])));
      const b = await reusing.run(x2, [2, 8, 8, 1]);
      expect(b).toBe(a);
      expect(Array.from(b)).toEqual(Array.from(await plain.run(x2, [2, 8, 8, 1])));
      const c = await reusing.run(x1.subarray(0, 64), [1, 8, 8, 1]);
      expect(c).not.toBe(a);
      expect(c).toHaveLength(64);
    } finally {
      await plain.release();
      await reusing.release();
    }
  });

  it('refuses a wrong shape or size, and calls after release', async () => {
    const g = await createOnnxGenerator(tinyOnnx(), { threads: 1 });
    const shape = await rejected(g.run(new Float32Array(64), [1, 8, 8]));
    expect(shape.param).toBe('input');
    expect(shape.message).toMatch(/\[batch, H, W, 1\]/);
    const size = await rejected(g.run(new Float32Array(63), [1, 8, 8, 1]));
    expect(size.message).toMatch(/63 values/);
    await g.release();
    await g.release();
    expect((await rejected(g.run(new Float32Array(64), [1, 8, 8, 1]))).message).toMatch(/released/);
  });

  it('a forced CUDA provider without its libraries, a bad option and a non-ONNX file are clear errors', async () => {
    const cuda = await rejected(createOnnxGenerator(tinyOnnx(), { provider: 'cuda' }));
    expect(cuda.code).toBe('VOXSHIFT_E_BACKEND_UNAVAILABLE');
    expect(cuda.message).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    const threads = await rejected(createOnnxGenerator(tinyOnnx(), { threads: 0 }));
    expect(threads.param).toBe('threads');
    const junk = join(tmp, 'junk.onnx');
    writeFileSync(junk, 'not a protobuf');
    const bad = await rejected(createOnnxGenerator(junk));
    expect(bad.code).toBe('VOXSHIFT_E_CORRUPT_CHECKPOINT');
    expect(bad.file).toBe(junk);
  });
});

describe('translateVolume with a buffer generator', () => {
  it('3-D sliding window on onnxruntime equals the same windows on tfjs, and creates no tensors', async () => {
    const bytes = tinyOnnx(3);
    const spec = describeResnetGenerator({ spatialDims: 3, ngf: 2, blocks: 1 });
    const net = buildNetwork(spec, createRng(1), { trainable: false });
    const g = await createOnnxGenerator(bytes, { threads: 1 });
    try {
      const vol = ctVolume([13, 11, 10]);
      const options = identityOptions(3, { patchSize: [8, 8, 8], overlap: 0.5, batchSize: 2 });
      const before = tf.memory().numTensors;
      const viaOnnx = await translateVolume(vol, g, options);
      expect(tf.memory().numTensors).toBe(before);
      const viaTfjs = await translateVolume(vol, (x) => net.apply(x), options);
      // Output in HU over a 3000 HU window: 1e-4 of the [−1, 1] range is 0.15 HU.
      expect(maxAbsDiff(viaOnnx.data, viaTfjs.data)).toBeLessThan(0.15);
      expect(viaOnnx.history.at(-1)?.op).toBe('translate');
    } finally {
      net.dispose();
      await g.release();
    }
  });

  it('a buffer generator returning the wrong length is an INVALID_ARGUMENT', async () => {
    const short = { run: async (input: Float32Array) => input.slice(1) };
    const e = await rejected(translateVolume(ctVolume([8, 8, 2]), short, identityOptions(2)));
    expect(e.param).toBe('generator');
    expect(e.message).toMatch(/float32 values/);
  });
});
