import {
  backend_util,
  Conv3DBackpropInputV2,
  util,
  type Conv3DBackpropInputV2Attrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Accumulator, disposeInfo, filterTap, gatherDepths, reshaped, runWasmKernel } from './conv3d-util.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';

type Shape5 = [number, number, number, number, number];

/**
 * Input gradient of Conv3D (NDHWC). Input depth i receives dy[d] ⊛ᵀ W[t] for every (d, t) with
 * i = d·s + t − front. The input depths are split into s phases (i ≡ p mod s); within a phase each tap
 * maps input depth to a single output depth, so one 2-D Conv2DBackpropInput per tap handles all depths
 * of the phase at once. Phases are interleaved back into depth order at the end.
 */
export function conv3dBackpropInputWasm(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Conv3DBackpropInputV2Attrs;
}): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs: { strides, pad, inputShape } } = args;
  const info = backend_util.computeConv3DInfo(inputShape as Shape5, filter.shape as Shape5, strides, 1, pad);
  const { batchSize: n, inDepth, inHeight, inWidth, inChannels, outDepth, outHeight, outWidth, outChannels } = info;
  const { filterDepth, filterHeight, filterWidth, strideDepth: s } = info;
  if (dy.shape.join() !== [n, outDepth, outHeight, outWidth, outChannels].join()) {
    throw new VoxshiftError('INVALID_ARGUMENT', `Conv3DBackpropInputV2: dy has shape [${dy.shape.join(', ')}], expected [${[n, outDepth, outHeight, outWidth, outChannels].join(', ')}]`, {
      param: 'dy',
    });
  }
  const front = info.padInfo.front;
  const slabOut = [inHeight, inWidth, inChannels];
  const slab = util.sizeFromShape(slabOut);
  const phases: TensorInfo[] = [];
  try {
    for (let p = 0; p < s; p++) {
      const count = Math.ceil((inDepth - p) / s);
      const acc = new Accumulator(backend);
      if (count > 0) {
        const attrs2d = {
          strides: [info.strideHeight, info.strideWidth],
          pad,
          dataFormat: 'NHWC',
          dimRoundingMode: null,
          inputShape: [n * count, inHeight, inWidth, inChannels],
        } as unknown as NamedAttrMap;
        for (let t = 0; t < filterDepth; t++) {
          if ((((t - front - p) % s) + s) % s !== 0) continue;
          // input depth i = p + j·s  ←  output depth d = (i − t + front) / s
          const source = (j: number): number => (p + j * s - t + front) / s;
          let any = false;
          for (let j = 0; j < count && !any; j++) any = source(j) >= 0 && source(j) < outDepth;
          if (!any) continue;
          const dys = gatherDepths(backend, dy, n, outDepth, [outHeight, outWidth, outChannels], count, source);
          const w = filterTap(backend, filter, t, [filterHeight, filterWidth, inChannels, outChannels]);
          try {
            acc.add(runWasmKernel('Conv2DBackpropInput', backend, { dy: dys, filter: w }, attrs2d));
          } finally {
            disposeInfo(backend, dys);
          }
        }
      }
      phases.push(acc.take([n * Math.max(count, 0), ...slabOut]));
    }
    if (s === 1) {
      const only = phases.pop() as TensorInfo;
      return reshaped(only, [n, inDepth, inHeight, inWidth, inChannels]);
    }
    const out = backend.makeOutput([n, inDepth, inHeight, inWidth, inChannels], 'float32');
    const dst = backend.typedArrayFromHeap(out);
    for (let p = 0; p < s; p++) {
      const count = Math.ceil((inDepth - p) / s);
      if (count <= 0) continue;
      const src = backend.typedArrayFromHeap(phases[p]);
      for (let b = 0; b < n; b++) {
        for (let j = 0; j < count; j++) {
          const o = (b * inDepth + p + j * s) * slab;
          const i = (b * count + j) * slab;
          dst.set(src.subarray(i, i + slab), o);
        }
      }
    }
    return out;
  } finally {
    for (const ph of phases) disposeInfo(backend, ph);
  }
}

export const conv3dBackpropInputConfig: KernelConfig = {
  kernelName: Conv3DBackpropInputV2,
  backendName: 'wasm',
  kernelFunc: conv3dBackpropInputWasm as unknown as KernelFunc,
};
