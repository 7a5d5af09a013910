/**
 * Whole-volume inference with a trained generator (MR → CT and the like): the volume is normalised
 * with the source normalisation, run through the generator slice by slice (2-D) or by overlapping
 * windows with Gaussian blending (3-D), and the output is mapped back with the inverse of the target
 * normalisation. The result lies on the source grid, in target units, with one history entry.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import type { Network } from '../networks/build-network.ts';
import { resolveOptions } from './options.ts';
import type { Generator, GeneratorFn, TranslateVolumeOptions } from './options.ts';
import { planSlices, translateSlices } from './slice-inference.ts';
import { planWindows, translateWindows } from './sliding-window.ts';

export type { BufferGenerator, Generator, GeneratorFn, TranslateVolumeOptions } from './options.ts';
export { planSlices } from './slice-inference.ts';
export type { SlicePlan } from './slice-inference.ts';
export { planWindows } from './sliding-window.ts';
export type { WindowPlan } from './sliding-window.ts';

/**
 * Translates `volume` with `generator` — a tfjs function or a buffer generator such as an onnxruntime
 * session (inference/onnx-runtime.ts) — (see TranslateVolumeOptions). Rejects with INVALID_ARGUMENT for
 * label or multi-channel volumes and bad options, NON_FINITE_VALUES for NaN/±Inf voxels (or generator
 * output), CANCELLED when `signal` aborts. Every tensor it creates is disposed.
 */
export async function translateVolume(volume: Volume, generator: Generator, options: TranslateVolumeOptions): Promise<Volume<Float32Array>> {
  const opts = resolveOptions(volume, generator, options);
  const out = new Float32Array(volume.shape[0] * volume.shape[1] * volume.shape[2]);
  let layout: Record<string, unknown>;
  if (opts.spatialDims === 2) {
    const plan = planSlices(volume.shape, opts.axis, opts.sizeMultiple);
    layout = { axis: opts.axis, paddedSlice: plan.padded };
    await translateSlices(volume, generator, opts, out);
  } else {
    const plan = planWindows(volume.shape, opts.patchSize, opts.sizeMultiple, opts.overlap);
    layout = {
      patchSize: [plan.window[2], plan.window[1], plan.window[0]],
      overlap: opts.overlap,
      windows: plan.starts.length,
      blending: 'gaussian',
    };
    await translateWindows(volume, generator, opts, out);
  }
  return deriveVolume<Float32Array>(
    volume,
    { data: out, kind: 'intensity', modality: opts.targetModality, meta: { ...volume.meta, units: opts.targetUnits } },
    {
      op: 'translate',
      params: {
        spatialDims: opts.spatialDims,
        sourceModality: volume.modality,
        targetModality: opts.targetModality,
        targetUnits: opts.targetUnits,
        sourceNormalization: { ...opts.sourceNormalization },
        targetNormalization: { ...opts.targetNormalization },
        sizeMultiple: opts.sizeMultiple,
        batchSize: opts.batchSize,
        padValue: opts.padValue,
        ...layout,
      },
    },
  );
}

/** The generator function and the layout options of a built network (one input and one output channel). */
export function networkGenerator(network: Network): { generator: GeneratorFn; spatialDims: 2 | 3; sizeMultiple: number } {
  const { spec } = network;
  if (spec.inputChannels !== 1 || spec.outputChannels !== 1) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `network must map 1 channel to 1 channel for volume translation, got ${spec.inputChannels} → ${spec.outputChannels}`,
      { param: 'network', details: { inputChannels: spec.inputChannels, outputChannels: spec.outputChannels } },
    );
  }
  return { generator: (x) => network.apply(x), spatialDims: spec.spatialDims, sizeMultiple: spec.sizeMultiple };
}
