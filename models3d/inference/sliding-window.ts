/**
 * 3-D inference by sliding window (MONAI's sliding_window_inference with Gaussian blending), in
 * bounded memory. The volume is padded (centred, with padValue) to the size multiple; windows from
 * patchGrid cover the padded box. Windows come in z order (patchGrid's k is slowest), so the volume is
 * processed in slabs one window deep: only the planes the current row of windows touches have
 * accumulators (weighted sums and weights, nx × ny × window depth each); planes no later window can reach
 * are divided, mapped back to target units and written out, and the accumulators slide on.
 * Each window's input is normalised straight from the source voxels: no normalised copy of the volume.
 *
 * Tensor layout: a window is [batch, d, h, w, 1] with w along i (x), h along j, d along k, so its
 * row-major data is the volume's own layout (i fastest).
 */
import { gaussianWeights, patchGrid } from '../../volumes/patches.ts';
import type { Index3 } from '../../volumes/patches.ts';
import type { Volume } from '../../volumes/volume.ts';
import { nonFiniteOutput, runGenerator, yieldToEventLoop } from './run-generator.ts';
import type { Generator, ResolvedOptions } from './options.ts';
import { roundUp, throwIfAborted } from './options.ts';

/** Everything about the window layout, in volume order [i, j, k] unless said otherwise. */
export interface WindowPlan {
  /** The padded box the windows cover. */
  padded: [number, number, number];
  /** Padding before the volume on each axis. */
  offset: [number, number, number];
  /** The window actually used (requested, shrunk to the padded box). */
  window: [number, number, number];
  /** Window starts in the padded box, in processing order (k slowest). */
  starts: Index3[];
  /** Voxels of each of the two accumulators (nx × ny × window depth). */
  accumulatorVoxels: number;
}

/** `patchSize` is in tensor order [d, h, w]. */
export function planWindows(shape: readonly number[], patchSize: readonly number[], sizeMultiple: number, overlap: number): WindowPlan {
  const requested = [patchSize[2], patchSize[1], patchSize[0]];
  const padded = [0, 1, 2].map((a) => roundUp(shape[a], sizeMultiple)) as [number, number, number];
  const window = [0, 1, 2].map((a) => Math.min(requested[a], padded[a])) as [number, number, number];
  const offset = [0, 1, 2].map((a) => Math.floor((padded[a] - shape[a]) / 2)) as [number, number, number];
  return { padded, offset, window, starts: patchGrid(padded, window, overlap), accumulatorVoxels: shape[0] * shape[1] * window[2] };
}

export async function translateWindows(volume: Volume, generator: Generator, opts: ResolvedOptions, out: Float32Array): Promise<void> {
  const plan = planWindows(volume.shape, opts.patchSize, opts.sizeMultiple, opts.overlap);
  const [nx, ny, nz] = volume.shape;
  const nxy = nx * ny;
  const [px, py, pz] = plan.window;
  const [ox, oy, oz] = plan.offset;
  const windowVoxels = px * py * pz;
  const weights = gaussianWeights(plan.window);
  const src = volume.data;
  const { sum: sSum, range: sRange } = opts.source;
  const { sum: tSum, range: tRange } = opts.target;
  const total = plan.starts.length;
  // The planes [zBase, zBase + pz) of the padded box; plane q of the accumulators is padded z = zBase + q.
  const acc = new Float32Array(plan.accumulatorVoxels);
  const wsum = new Float32Array(plan.accumulatorVoxels);
  let zBase = plan.starts[0][2];
  const buffer = new Float32Array(Math.min(opts.batchSize, total) * windowVoxels);

  /** Writes out accumulator planes [0, planes) and slides the rest down. */
  const flush = (planes: number): void => {
    for (let q = 0; q < planes; q++) {
      const z = zBase + q - oz;
      if (z < 0 || z >= nz) continue;
      const a = q * nxy;
      const o = z * nxy;
      for (let p = 0; p < nxy; p++) out[o + p] = (tRange * (acc[a + p] / wsum[a + p]) + tSum) / 2;
    }
    acc.copyWithin(0, planes * nxy);
    wsum.copyWithin(0, planes * nxy);
    acc.fill(0, Math.max(0, pz - planes) * nxy);
    wsum.fill(0, Math.max(0, pz - planes) * nxy);
  };

  // The part of a window inside the volume: window index range [lo, hi) on each axis.
  const inside = (s: Index3): [number, number][] =>
    [0, 1, 2].map((a) => {
      const o = plan.offset[a];
      return [Math.max(0, o - s[a]), Math.min(plan.window[a], volume.shape[a] + o - s[a])] as [number, number];
    });

  let done = 0;
  while (done < total) {
    throwIfAborted(opts.signal, done, total);
    // A batch never spans two rows of windows (different z starts): the slab logic flushes between rows.
    const z0 = plan.starts[done][2];
    if (z0 !== zBase) {
      flush(z0 - zBase);
      zBase = z0;
    }
    let count = 1;
    while (count < opts.batchSize && done + count < total && plan.starts[done + count][2] === z0) count++;
    const input = buffer.subarray(0, count * windowVoxels);
    input.fill(opts.padValue);
    for (let b = 0; b < count; b++) {
      const s = plan.starts[done + b];
      const [[i0, i1], [j0, j1], [k0, k1]] = inside(s);
      for (let k = k0; k < k1; k++) {
        for (let j = j0; j < j1; j++) {
          let o = b * windowVoxels + (k * py + j) * px + i0;
          const p0 = (s[2] + k - oz) * nxy + (s[1] + j - oy) * nx + (s[0] - ox);
          for (let i = i0; i < i1; i++) {
            const y = (2 * src[p0 + i] - sSum) / sRange;
            input[o++] = y < -1 ? -1 : y > 1 ? 1 : y;
          }
        }
      }
    }
    const result = await runGenerator(generator, input, [count, pz, py, px, 1]);
    for (let b = 0; b < count; b++) {
      const s = plan.starts[done + b];
      const [[i0, i1], [j0, j1], [k0, k1]] = inside(s);
      for (let k = k0; k < k1; k++) {
        for (let j = j0; j < j1; j++) {
          const w0 = (k * py + j) * px;
          const r0 = b * windowVoxels + w0;
          // Accumulator plane k: this row of windows starts at zBase.
          const a0 = k * nxy + (s[1] + j - oy) * nx + (s[0] - ox);
          for (let i = i0; i < i1; i++) {
            const y = result[r0 + i];
            if (y - y !== 0) throw nonFiniteOutput(y, `window ${done + b} (start [${s.join(', ')}]), voxel [${i}, ${j}, ${k}]`);
            const w = weights[w0 + i];
            acc[a0 + i] += w * y;
            wsum[a0 + i] += w;
          }
        }
      }
    }
    done += count;
    opts.onProgress?.(done, total);
    if (done < total) await yieldToEventLoop();
  }
  flush(pz);
}
