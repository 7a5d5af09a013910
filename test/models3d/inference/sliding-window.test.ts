import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { planWindows } from '../../../models3d/inference/sliding-window.ts';
import { translateVolume } from '../../../models3d/inference/translate-volume.ts';
import { gaussianWeights, patchGrid } from '../../../volumes/patches.ts';
import { voxelIndex } from '../../../volumes/volume.ts';
import { useBackend } from '../training/training-backend.ts';
import { CT_WINDOW, ctVolume, identity, identityOptions, maxAbsDiff } from './inference-helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

/** CT_WINDOW's inverse map, normalised → HU. */
const toHu = (y: number): number => (3000 * y + 1000) / 2;

/** A generator whose output is one constant per window, window n → value(n), counting across calls. */
function constantPerWindow(value: (n: number) => number): { generator: (x: tf.Tensor) => tf.Tensor; shapes: number[][] } {
  let n = 0;
  const shapes: number[][] = [];
  return {
    shapes,
    generator: (x) => {
      shapes.push(x.shape);
      const per = x.size / x.shape[0];
      const data = new Float32Array(x.size);
      for (let b = 0; b < x.shape[0]; b++) data.fill(value(n++), b * per, (b + 1) * per);
      return tf.tensor(data, x.shape);
    },
  };
}

describe('translateVolume 3-D (sliding window)', () => {
  it('identity generator on an odd 37×29×23 tilted volume with overlapping windows: output = input', async () => {
    const vol = ctVolume([37, 29, 23]);
    const before = tf.memory().numTensors;
    const shapes: number[][] = [];
    const out = await translateVolume(
      vol,
      (x) => {
        shapes.push(x.shape);
        return x.clone();
      },
      identityOptions(3, { patchSize: [8, 12, 16], overlap: 0.5 }),
    );
    expect(tf.memory().numTensors).toBe(before);
    // padded [40, 32, 24]; window (i, j, k) = (16, 12, 8): 4 × 5 × 5 starts
    expect(shapes.length).toBe(100);
    expect(shapes.every((s) => s.join() === '1,8,12,16,1')).toBe(true);
    expect(out.shape).toEqual(vol.shape);
    expect(maxAbsDiff(out.data, vol.data)).toBeLessThan(1e-2);
  });

  it('identity with the default window (shrunk to the padded volume: one window) and batchSize > 1', async () => {
    const vol = ctVolume([11, 9, 6]);
    const { generator, shapes } = constantPerWindow(() => 0);
    await translateVolume(vol, generator, identityOptions(3));
    expect(shapes).toEqual([[1, 8, 12, 12, 1]]);
    const out = await translateVolume(vol, identity, identityOptions(3, { patchSize: [4, 4, 4], batchSize: 3 }));
    expect(maxAbsDiff(out.data, vol.data)).toBeLessThan(1e-2);
  });

  // Flipping tensor axis D, H or W must flip voxel axis k, j or i.
  for (const [tensorAxis, voxelAxis] of [
    [1, 2],
    [2, 1],
    [3, 0],
  ] as const) {
    it(`tensor axis ${'NDHW'[tensorAxis]} is voxel axis ${'ijk'[voxelAxis]}`, async () => {
      const shape: [number, number, number] = [16, 12, 8];
      const vol = ctVolume(shape);
      const out = await translateVolume(vol, (x) => tf.reverse(x, tensorAxis), identityOptions(3, { patchSize: [8, 12, 16] }));
      let worst = 0;
      for (let k = 0; k < shape[2]; k++) {
        for (let j = 0; j < shape[1]; j++) {
          for (let i = 0; i < shape[0]; i++) {
            const m = [i, j, k];
            m[voxelAxis] = shape[voxelAxis] - 1 - m[voxelAxis];
            worst = Math.max(worst, Math.abs(out.data[voxelIndex(shape, i, j, k)] - vol.data[voxelIndex(shape, m[0], m[1], m[2])]));
          }
        }
      }
      expect(worst).toBeLessThan(1e-3);
    });
  }

  it('a constant generator output gives that constant everywhere, mapped back to HU', async () => {
    const vol = ctVolume([19, 13, 17]);
    const { generator } = constantPerWindow(() => 0.3);
    const out = await translateVolume(vol, generator, identityOptions(3, { patchSize: [8, 8, 8], overlap: 0.5 }));
    expect(maxAbsDiff(out.data, new Float32Array(out.data.length).fill(toHu(0.3)))).toBeLessThan(1e-2);
  });

  for (const { overlap, batchSize, patch } of [
    { overlap: 0.5, batchSize: 1, patch: [4, 8, 12] },
    { overlap: 0.25, batchSize: 3, patch: [8, 8, 8] },
    { overlap: 0, batchSize: 2, patch: [8, 8, 8] },
  ]) {
    it(`Gaussian blending of one constant per window equals whole-volume accumulation (overlap ${overlap}, batch ${batchSize}, window [${patch.join(', ')}])`, async () => {
      const shape: [number, number, number] = [21, 10, 13];
      const vol = ctVolume(shape);
      const value = (n: number): number => -0.9 + (1.8 * ((n * 37) % 11)) / 10;
      const { generator } = constantPerWindow(value);
      const out = await translateVolume(vol, generator, identityOptions(3, { patchSize: patch, overlap, batchSize }));

      // Reference: whole padded-volume accumulators, the windows in patchGrid order.
      const padded = [24, 12, 16];
      const offset = [1, 1, 1];
      const win = [patch[2], patch[1], patch[0]];
      const weights = gaussianWeights(win);
      const n = padded[0] * padded[1] * padded[2];
      const acc = new Float64Array(n);
      const wsum = new Float64Array(n);
      patchGrid(padded, win, overlap).forEach((s, w) => {
        for (let k = 0; k < win[2]; k++) {
          for (let j = 0; j < win[1]; j++) {
            for (let i = 0; i < win[0]; i++) {
              const p = s[0] + i + padded[0] * (s[1] + j + padded[1] * (s[2] + k));
              const g = weights[i + win[0] * (j + win[1] * k)];
              acc[p] += g * value(w);
              wsum[p] += g;
            }
          }
        }
      });
      const expected = new Float64Array(vol.data.length);
      for (let k = 0; k < shape[2]; k++) {
        for (let j = 0; j < shape[1]; j++) {
          for (let i = 0; i < shape[0]; i++) {
            const p = i + offset[0] + padded[0] * (j + offset[1] + padded[1] * (k + offset[2]));
            expected[voxelIndex(shape, i, j, k)] = toHu(acc[p] / wsum[p]);
          }
        }
      }
      expect(maxAbsDiff(out.data, expected)).toBeLessThan(2e-2);
      // Blending really mixes windows: the output is not one window's constant everywhere.
      expect(new Set(Array.from(out.data, (v) => Math.round(v))).size).toBeGreaterThan(20);
    });
  }

  it('keeps accumulators for one window depth only: 512×512×300 needs 512×512×64 voxels per accumulator', () => {
    const plan = planWindows([512, 512, 300], [64, 64, 64], 4, 0.5);
    expect(plan.accumulatorVoxels).toBe(512 * 512 * 64);
    expect(plan.padded).toEqual([512, 512, 300]);
    expect(plan.window).toEqual([64, 64, 64]);
    // Starts come row by row along k (the slab order the accumulators rely on).
    const zs = plan.starts.map((s) => s[2]);
    expect(zs).toEqual([...zs].sort((a, b) => a - b));
    expect(planWindows([37, 29, 23], [8, 12, 16], 4, 0.5)).toMatchObject({ padded: [40, 32, 24], offset: [1, 1, 0], window: [16, 12, 8] });
  });

  it('reports progress in windows and stops with CANCELLED when aborted, leaking no tensor', async () => {
    const vol = ctVolume([16, 16, 16]);
    const calls: number[] = [];
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    await expect(
      translateVolume(
        vol,
        identity,
        identityOptions(3, {
          patchSize: [8, 8, 8],
          signal: controller.signal,
          onProgress: (done, total) => {
            calls.push(done);
            expect(total).toBe(27);
            if (done === 5) controller.abort(new Error('user pressed Ctrl-C'));
          },
        }),
      ),
    ).rejects.toMatchObject({ code: 'VOXSHIFT_E_CANCELLED', param: 'signal', details: { done: 5, total: 27 } });
    expect(calls).toEqual([1, 2, 3, 4, 5]);
    expect(tf.memory().numTensors).toBe(before);

    const all: number[] = [];
    await translateVolume(vol, identity, identityOptions(3, { patchSize: [8, 8, 8], batchSize: 2, onProgress: (d) => all.push(d) }));
    expect(all.at(-1)).toBe(27);
    expect(all.length).toBe(15); // 3 rows along k of 9 windows each; batches never span rows: 5 per row
  });

  it('works with a non-default CT window pair', async () => {
    const vol = ctVolume([9, 9, 9]);
    const out = await translateVolume(vol, identity, {
      ...identityOptions(3, { patchSize: [4, 4, 4] }),
      sourceNormalization: CT_WINDOW,
      targetNormalization: { type: 'ct-window', lower: 0, upper: 100 },
    });
    // normalised y = (2·HU − 1000)/3000, then HU' = 50·y + 50
    expect(maxAbsDiff(out.data, Array.from(vol.data, (v) => 50 * ((2 * v - 1000) / 3000) + 50))).toBeLessThan(1e-3);
  });
});
