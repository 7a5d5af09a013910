import {
  backend_util,
  Conv3DBackpropFilterV2,
  util,
  type Conv3DBackpropFilterV2Attrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { gatherDepths, reshaped } from './conv3d-util.ts';
import { callWasmKernel, release } from './conv2d-util.ts';
import { geometry3d, nativeConv } from '../native-conv/native-conv.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';

type Shape5 = [number, number, number, number, number];

/**
 * Filter gradient of Conv3D (NDHWC): dW[t] = Σ_d conv2dBackpropFilter(x[d·s + t − front], dy[d]).
 * For each tap the input slabs of all output depths are stacked into the batch (zeros where out of
 * range) and one 2-D Conv2DBackpropFilter — which sums over its batch — computes the whole tap.
 */
export function conv3dBackpropFilterWasm(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv3DBackpropFilterV2Attrs;
}): TensorInfo {
  const { inputs: { x, dy }, backend, attrs: { strides, pad, filterShape } } = args;
  const info = backend_util.computeConv3DInfo(x.shape as Shape5, filterShape, strides, 1, pad);
  const { batchSize: n, inDepth, inHeight, inWidth, inChannels, outDepth, outHeight, outWidth, outChannels } = info;
  const { filterDepth, filterHeight, filterWidth, strideDepth: s } = info;
  if (dy.shape.join() !== [n, outDepth, outHeight, outWidth, outChannels].join()) {
    throw new VoxshiftError('INVALID_ARGUMENT', `Conv3DBackpropFilterV2: dy has shape [${dy.shape.join(', ')}], expected [${[n, outDepth, outHeight, outWidth, outChannels].join(', ')}]`, {
      param: 'dy',
    });
  }
  const native = nativeConv(backend, 'backprop-filter', geometry3d(info), x, dy);
  if (native !== undefined) return native;
  const front = info.padInfo.front;
  const tapShape = [filterHeight, filterWidth, inChannels, outChannels];
  const tapSize = util.sizeFromShape(tapShape);
  const dy2 = reshaped(dy, [n * outDepth, outHeight, outWidth, outChannels]);
  const attrs2d = {
    strides: [info.strideHeight, info.strideWidth],
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: null,
    filterShape: tapShape,
  } as unknown as NamedAttrMap;
  const out = backend.makeOutput([filterDepth, ...tapShape], 'float32');
  try {
    fillTaps();
  } catch (e) {
    release(backend, out);
    throw e;
  }
  return reshaped(out, [filterDepth, ...tapShape]);

  function fillTaps(): void {
    for (let t = 0; t < filterDepth; t++) {
      const source = (j: number): number => j * s + t - front;
      let any = false;
      for (let j = 0; j < outDepth && !any; j++) any = source(j) >= 0 && source(j) < inDepth;
      if (!any) {
        backend.typedArrayFromHeap(out).fill(0, t * tapSize, (t + 1) * tapSize);
        continue;
      }
      const xs = gatherDepths(backend, x, n, inDepth, [inHeight, inWidth, inChannels], outDepth, source);
      let dw: TensorInfo | null = null;
      try {
        dw = callWasmKernel('Conv2DBackpropFilter', backend, { x: xs, dy: dy2 }, attrs2d);
        // Fresh views: the kernel call may have grown (and detached) the heap.
        backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(dw), t * tapSize);
      } finally {
        release(backend, xs);
        if (dw !== null) release(backend, dw);
      }
    }
  }
}

export const conv3dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv3DBackpropFilterV2,
  backendName: 'wasm',
  kernelFunc: conv3dBackpropFilterWasm as unknown as KernelFunc,
};
