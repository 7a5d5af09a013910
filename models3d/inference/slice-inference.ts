/**
 * 2-D inference: the volume's slices along one axis, a batch at a time. Each slice is normalised
 * straight from the volume into a padded batch buffer (centred, padded to the size multiple with
 * padValue), run through the generator, and its cropped output is mapped back and written into the
 * output array. In-plane order is sliceAt's: the lower remaining voxel axis is W (fastest), the other H.
 */
import type { Volume } from '../../volumes/volume.ts';
import { nonFiniteOutput, runGenerator, yieldToEventLoop } from './run-generator.ts';
import type { Generator, ResolvedOptions } from './options.ts';
import { roundUp, throwIfAborted } from './options.ts';

const IN_PLANE = { 0: [1, 2], 1: [0, 2], 2: [0, 1] } as const;

/** The padded slice size fed to the generator, and where the slice sits in it. */
export interface SlicePlan {
  axis: 0 | 1 | 2;
  slices: number;
  /** Slice size [height, width] and padded size [Hp, Wp] (tensor order). */
  size: [number, number];
  padded: [number, number];
  /** Rows and columns of padding before the slice. */
  offset: [number, number];
}

export function planSlices(shape: readonly number[], axis: 0 | 1 | 2, sizeMultiple: number): SlicePlan {
  const [u, v] = IN_PLANE[axis];
  const h = shape[v];
  const w = shape[u];
  const hp = roundUp(h, sizeMultiple);
  const wp = roundUp(w, sizeMultiple);
  return { axis, slices: shape[axis], size: [h, w], padded: [hp, wp], offset: [Math.floor((hp - h) / 2), Math.floor((wp - w) / 2)] };
}

export async function translateSlices(volume: Volume, generator: Generator, opts: ResolvedOptions, out: Float32Array): Promise<void> {
  const plan = planSlices(volume.shape, opts.axis, opts.sizeMultiple);
  const { axis, slices } = plan;
  const [u, v] = IN_PLANE[axis];
  const [h, w] = plan.size;
  const [hp, wp] = plan.padded;
  const [oh, ow] = plan.offset;
  const shape = volume.shape;
  const stride = [1, shape[0], shape[0] * shape[1]];
  const [su, sv, sa] = [stride[u], stride[v], stride[axis]];
  const src = volume.data;
  const { sum: sSum, range: sRange } = opts.source;
  const { sum: tSum, range: tRange } = opts.target;
  const plane = hp * wp;
  const buffer = new Float32Array(Math.min(opts.batchSize, slices) * plane);

  for (let first = 0; first < slices; first += opts.batchSize) {
    throwIfAborted(opts.signal, first, slices);
    const count = Math.min(opts.batchSize, slices - first);
    const input = buffer.subarray(0, count * plane);
    input.fill(opts.padValue);
    for (let s = 0; s < count; s++) {
      const base = (first + s) * sa;
      for (let r = 0; r < h; r++) {
        let o = s * plane + (oh + r) * wp + ow;
        for (let c = 0, p = base + r * sv; c < w; c++, p += su) {
          const y = (2 * src[p] - sSum) / sRange;
          input[o++] = y < -1 ? -1 : y > 1 ? 1 : y;
        }
      }
    }
    const result = await runGenerator(generator, input, [count, hp, wp, 1]);
    for (let s = 0; s < count; s++) {
      const base = (first + s) * sa;
      for (let r = 0; r < h; r++) {
        let o = s * plane + (oh + r) * wp + ow;
        for (let c = 0, p = base + r * sv; c < w; c++, p += su) {
          const y = result[o++];
          if (y - y !== 0) throw nonFiniteOutput(y, `slice ${first + s} along axis ${axis}, row ${r}, column ${c}`);
          out[p] = (tRange * y + tSum) / 2;
        }
      }
    }
    opts.onProgress?.(first + count, slices);
    if (first + count < slices) await yieldToEventLoop();
  }
}
