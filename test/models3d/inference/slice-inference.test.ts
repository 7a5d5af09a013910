import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { planSlices } from '../../../models3d/inference/slice-inference.ts';
import { translateVolume } from '../../../models3d/inference/translate-volume.ts';
import { applyNormalization, invertNormalization } from '../../../volumes/normalize.ts';
import type { Normalization } from '../../../volumes/normalize.ts';
import { createVolume, voxelIndex } from '../../../volumes/volume.ts';
import { useBackend } from '../training/training-backend.ts';
import { ctVolume, identity, identityOptions, maxAbsDiff } from './inference-helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('translateVolume 2-D (slices)', () => {
  for (const axis of [0, 1, 2] as const) {
    it(`identity generator, axis ${axis}, odd shape: output = input (exactly the normalize/invert round trip)`, async () => {
      const vol = ctVolume([13, 7, 10]);
      const before = tf.memory().numTensors;
      const out = await translateVolume(vol, identity, identityOptions(2, { axis, batchSize: 3 }));
      expect(tf.memory().numTensors).toBe(before);
      const reference = invertNormalization(applyNormalization(vol, identityOptions(2).sourceNormalization), identityOptions(2).targetNormalization);
      expect(out.data).toEqual(reference.data);
      expect(maxAbsDiff(out.data, vol.data)).toBeLessThan(1e-3);
    });
  }

  it('plans the padded slice centred on the slice, W = the faster in-plane axis', () => {
    expect(planSlices([13, 7, 10], 2, 4)).toEqual({ axis: 2, slices: 10, size: [7, 13], padded: [8, 16], offset: [0, 1] });
    expect(planSlices([13, 7, 10], 0, 4)).toEqual({ axis: 0, slices: 13, size: [10, 7], padded: [12, 8], offset: [1, 0] });
    expect(planSlices([13, 7, 10], 1, 8)).toEqual({ axis: 1, slices: 7, size: [10, 13], padded: [16, 16], offset: [3, 1] });
  });

  // Flipping the tensor's W (or H) axis must flip the volume along the voxel axis sliceAt puts there.
  const layouts = [
    { axis: 2, tensorAxis: 2, voxelAxis: 0 },
    { axis: 2, tensorAxis: 1, voxelAxis: 1 },
    { axis: 1, tensorAxis: 2, voxelAxis: 0 },
    { axis: 1, tensorAxis: 1, voxelAxis: 2 },
    { axis: 0, tensorAxis: 2, voxelAxis: 1 },
    { axis: 0, tensorAxis: 1, voxelAxis: 2 },
  ] as const;
  for (const { axis, tensorAxis, voxelAxis } of layouts) {
    it(`slice axis ${axis}: tensor axis ${tensorAxis === 2 ? 'W' : 'H'} is voxel axis ${voxelAxis}`, async () => {
      const shape: [number, number, number] = [8, 12, 16];
      const vol = ctVolume(shape);
      const out = await translateVolume(vol, (x) => tf.reverse(x, tensorAxis), identityOptions(2, { axis }));
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

  it('a generator adding a constant: the source is clamped to its window and the target window is inverted', async () => {
    const vol = ctVolume([9, 6, 5]);
    const data = vol.data.slice();
    data[3] = 5000; // above the source window: clamped to +1
    data[4] = -4000; // below: clamped to −1
    const src = createVolume({ ...vol, data, modality: 'MR', meta: { units: 'arbitrary', warnings: [] } });
    const sourceNormalization: Normalization = { type: 'mr-percentile', p: [1, 99], low: -500, high: 1500 };
    const targetNormalization: Normalization = { type: 'ct-window', lower: -1024, upper: 3000 };
    const shift = 0.25;
    const out = await translateVolume(src, (x) => tf.add(x, shift), {
      ...identityOptions(2),
      sourceNormalization,
      targetNormalization,
      batchSize: 2,
    });
    const expected = Array.from(data, (v) => {
      const y = Math.fround(Math.min(1, Math.max(-1, (2 * v - 1000) / 2000)));
      return (4024 * Math.fround(y + shift) + 1976) / 2;
    });
    expect(maxAbsDiff(out.data, expected)).toBeLessThan(1e-3);
    expect(out.data[3]).toBeCloseTo((4024 * 1.25 + 1976) / 2, 2); // 3000 + 0.125·4024: overshoot is not clipped
    expect(out.data[4]).toBeCloseTo((4024 * -0.75 + 1976) / 2, 2);
  });

  it('pads with padValue and feeds [batch, Hp, Wp, 1] tensors, the last batch smaller', async () => {
    const vol = ctVolume([6, 5, 7]);
    const seen: number[][] = [];
    const firstRows: number[][] = [];
    await translateVolume(
      vol,
      (x) => {
        seen.push(x.shape);
        // 5 rows padded to 8 with 1 row before: row 0 of every padded slice is padding.
        firstRows.push(Array.from(tf.slice(x, [0, 0, 0, 0], [x.shape[0], 1, 8, 1]).dataSync()));
        return x.clone();
      },
      identityOptions(2, { axis: 2, batchSize: 3, padValue: 0.5 }),
    );
    expect(seen).toEqual([
      [3, 8, 8, 1],
      [3, 8, 8, 1],
      [1, 8, 8, 1],
    ]);
    expect(firstRows.flat()).toEqual(Array<number>(7 * 8).fill(0.5));
  });

  it('reports progress in slices and yields to the event loop between batches', async () => {
    const vol = ctVolume([8, 8, 10]);
    const calls: [number, number][] = [];
    let immediateRanAt = -1;
    setImmediate(() => {
      immediateRanAt = calls.length === 0 ? 0 : calls[calls.length - 1][0];
    });
    await translateVolume(vol, identity, identityOptions(2, { batchSize: 4, onProgress: (d, t) => calls.push([d, t]) }));
    expect(calls).toEqual([
      [4, 10],
      [8, 10],
      [10, 10],
    ]);
    expect(immediateRanAt).toBeGreaterThanOrEqual(0);
    expect(immediateRanAt).toBeLessThan(10);
  });
});
