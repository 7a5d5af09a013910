import {
  backend_util,
  Conv3DBackpropInputV2,
  type Conv3DBackpropInputV2Attrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { filterTap, gatherDepths } from './conv3d-util.ts';
import { callWasmKernel, release } from './conv2d-util.ts';
import { geometry3d, nativeConv } from '../native-conv/native-conv.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';

type Shape5 = [number, number, number, number, number];

/** dst[o … o+len) += src[i … i+len) */
function addInto(dst: Float32Array, o: number, src: Float32Array, i: number, len: number): void {
  for (let k = 0; k < len; k++) dst[o + k] += src[i + k];
}

/**
 * Input gradient of Conv3D (NDHWC). Input depth i receives dy[d] ⊛ᵀ W[t] for every (d, t) with
 * i = d·s + t − front. For a tap t the input depths it reaches are i ≡ t − front (mod s), each from a
 * single output depth, so one 2-D Conv2DBackpropInput per tap — over the output depths that exist,
 * stacked into the batch — computes all of its contributions, which are then added into their depth
 * slabs of dx.
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
  const native = nativeConv(backend, 'backprop-input', geometry3d(info), dy, filter);
  if (native !== undefined) return native;
  const front = info.padInfo.front;
  const slab = inHeight * inWidth * inChannels;
  const dx = backend.makeOutput([n, inDepth, inHeight, inWidth, inChannels], 'float32');
  backend.typedArrayFromHeap(dx).fill(0);
  try {
    for (let t = 0; t < filterDepth; t++) {
      // Output depth d reaches input depth d·s + t − front; keep the d whose input depth exists.
      const d0 = Math.max(0, Math.ceil((front - t) / s));
      const d1 = Math.min(outDepth - 1, Math.floor((inDepth - 1 + front - t) / s));
      const len = d1 - d0 + 1;
      if (len <= 0) continue;
      const attrs2d = {
        strides: [info.strideHeight, info.strideWidth],
        pad,
        dataFormat: 'NHWC',
        dimRoundingMode: null,
        inputShape: [n * len, inHeight, inWidth, inChannels],
      } as unknown as NamedAttrMap;
      const dys = gatherDepths(backend, dy, n, outDepth, [outHeight, outWidth, outChannels], len, (k) => d0 + k);
      let part: TensorInfo | null = null;
      try {
        part = callWasmKernel('Conv2DBackpropInput', backend, { dy: dys, filter: filterTap(backend, filter, t, [filterHeight, filterWidth, inChannels, outChannels]) }, attrs2d);
        const dst = backend.typedArrayFromHeap(dx) as Float32Array;
        const src = backend.typedArrayFromHeap(part) as Float32Array;
        for (let b = 0; b < n; b++) {
          for (let k = 0; k < len; k++) {
            const depth = (d0 + k) * s + t - front;
            addInto(dst, (b * inDepth + depth) * slab, src, (b * len + k) * slab, slab);
          }
        }
      } finally {
        release(backend, dys);
        if (part !== null) release(backend, part);
      }
    }
  } catch (e) {
    release(backend, dx);
    throw e;
  }
  return dx;
}

export const conv3dBackpropInputConfig: KernelConfig = {
  kernelName: Conv3DBackpropInputV2,
  backendName: 'wasm',
  kernelFunc: conv3dBackpropInputWasm as unknown as KernelFunc,
};
