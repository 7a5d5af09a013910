/**
 * How a GAN training step is laid out in memory. The wasm heap is capped at 4 GiB: when the activations
 * a joint generator backward pass keeps alive would not fit, the generator loss is split into parts
 * whose gradients are computed one after another and summed (same result, same compute); when even one
 * part does not fit, activations are recomputed in the backward pass instead of kept; when that does
 * not fit either, the step cannot run and says so.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import { activationBytes, inferShapes, largestActivationBytes, parameterCount } from '../networks/shapes.ts';
import type { NetworkSpec } from '../networks/spec.ts';

/** The wasm backend's heap limit (WebAssembly memory32). */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

export interface StepPlan {
  splitGenerators: boolean;
  recompute: boolean;
  /** Estimated peak bytes of the chosen layout. */
  estimatedBytes: number;
  /** Estimates of each layout, for reports. */
  estimates: { joint: number; split: number; splitRecompute: number };
  /** Bytes the step may use (Infinity when the backend has no fixed heap). */
  budgetBytes: number;
}

export interface PlanOptions {
  /** true/false forces; 'auto' (default) decides by the estimate. */
  splitGenerators?: boolean | 'auto';
  recompute?: boolean | 'auto';
  /** Overrides the heap size (default: 4 GiB on the wasm backend, unlimited elsewhere). */
  heapBytes?: number;
}

/** The heap a step may use on the current backend, less what is already allocated. */
export function defaultBudgetBytes(heapBytes?: number): number {
  const heap = heapBytes ?? (tf.getBackend() === 'wasm' ? WASM_HEAP_BYTES : Infinity);
  // Leave a fifth for fragmentation and kernel scratch buffers.
  return heap === Infinity ? Infinity : Math.max(0, heap * 0.8 - tf.memory().numBytes);
}

interface Layout {
  /** Networks whose activations one generator part keeps (joint: all of them). */
  joint: { gen: number; disc: number };
  split: { gen: number; disc: number };
}

/**
 * Plans a step. `gens`/`discs` are the specs in play, `genSpatial` the generator input size and
 * `layout` how many generator and discriminator passes a joint and a split backward keep alive.
 */
export function planStep(
  gen: NetworkSpec,
  disc: NetworkSpec,
  spatial: number[],
  batch: number,
  layout: Layout,
  paramCount: number,
  options: PlanOptions = {},
): StepPlan {
  const genOut = inferShapes(gen, spatial, batch).get(gen.output) as number[];
  const g = activationBytes(gen, spatial, batch);
  const d = activationBytes(disc, genOut.slice(1, -1), batch);
  const transient = 3 * Math.max(largestActivationBytes(gen, spatial, batch), largestActivationBytes(disc, genOut.slice(1, -1), batch));
  // Parameters, their gradients, two Adam moments (and the summed gradients when split).
  const fixed = 5 * 4 * paramCount;
  const joint = layout.joint.gen * g + layout.joint.disc * d + transient + fixed;
  const split = layout.split.gen * g + layout.split.disc * d + transient + fixed;
  const splitRecompute = Math.max(g, d) + (layout.split.gen + layout.split.disc) * 4 * (genOut.reduce((a, b) => a * b, 1)) + transient + fixed;
  const budget = defaultBudgetBytes(options.heapBytes);
  const wantSplit = options.splitGenerators ?? 'auto';
  const wantRecompute = options.recompute ?? 'auto';
  let splitGenerators = wantSplit === true || (wantSplit === 'auto' && joint > budget);
  let recompute = wantRecompute === true;
  if (wantRecompute === 'auto' && (splitGenerators ? split : joint) > budget) {
    recompute = true;
    if (wantSplit === 'auto') splitGenerators = true;
  }
  const estimatedBytes = recompute ? (splitGenerators ? splitRecompute : Math.max(g, d) * 2 + transient + fixed) : splitGenerators ? split : joint;
  if (estimatedBytes > budget) {
    const gib = (b: number): string => `${(b / 1024 ** 3).toFixed(2)} GiB`;
    throw new VoxshiftError(
      'OUT_OF_MEMORY',
      `a training step on ${batch}×${spatial.join('×')} (${gen.kind}, ${(paramCount / 1e6).toFixed(2)} M parameters) needs about ${gib(estimatedBytes)}` +
        ` even with the generator loss split and activations recomputed, more than the ${gib(budget)} available on the ${tf.getBackend()} backend;` +
        ' use smaller patches, a smaller batch or fewer filters',
      { param: 'patchSize', details: { spatial, batch, estimatedBytes, budgetBytes: budget } },
    );
  }
  return { splitGenerators, recompute, estimatedBytes, estimates: { joint, split, splitRecompute }, budgetBytes: budget };
}

export { parameterCount };
