import {
  backend_util,
  Conv3D,
  type Conv3DAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Accumulator, filterTap, gatherDepths, reshaped } from './conv3d-util.ts';
import { callWasmKernel, release } from './conv2d-util.ts';
import { geometry3d, nativeConv } from '../native-conv/native-conv.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';

type Shape5 = [number, number, number, number, number];

/**
 * Conv3D (NDHWC) as a sum over the kernel's depth taps of 2-D convolutions: for tap t, the input depth
 * slabs d·s + t·dil − front (all output depths d at once) are stacked into the batch dimension and
 * convolved with W[t] by the backend's XNNPACK Conv2D. Out-of-range slabs are zeros.
 */
export function conv3dWasm(args: { inputs: { x: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: Conv3DAttrs }): TensorInfo {
  const { inputs: { x, filter }, backend, attrs } = args;
  const { strides, pad, dilations } = attrs;
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NDHWC') {
    throw new VoxshiftError('INVALID_ARGUMENT', `Conv3D on wasm supports dataFormat 'NDHWC' only, got '${attrs.dataFormat}'`, {
      param: 'dataFormat',
    });
  }
  const info = backend_util.computeConv3DInfo(x.shape as Shape5, filter.shape as Shape5, strides, dilations ?? 1, pad);
  const native = nativeConv(backend, 'forward', geometry3d(info), x, filter);
  if (native !== undefined) return native;
  const { batchSize: n, inDepth, inHeight, inWidth, inChannels, outDepth, outHeight, outWidth, outChannels } = info;
  const { filterDepth, filterHeight, filterWidth, strideDepth, dilationDepth } = info;
  const front = info.padInfo.front;
  const conv2dAttrs = {
    strides: [info.strideHeight, info.strideWidth],
    pad,
    dilations: [info.dilationHeight, info.dilationWidth],
    dataFormat: 'NHWC',
    dimRoundingMode: null,
  } as unknown as NamedAttrMap;
  const acc = new Accumulator(backend);
  try {
    addTaps();
  } catch (e) {
    acc.dispose();
    throw e;
  }
  const out = acc.take([n * outDepth, outHeight, outWidth, outChannels]);
  return reshaped(out, [n, outDepth, outHeight, outWidth, outChannels]);

  function addTaps(): void {
    for (let t = 0; t < filterDepth; t++) {
      const source = (j: number): number => j * strideDepth + t * dilationDepth - front;
      let any = false;
      for (let j = 0; j < outDepth && !any; j++) any = source(j) >= 0 && source(j) < inDepth;
      if (!any) continue;
      const xs = gatherDepths(backend, x, n, inDepth, [inHeight, inWidth, inChannels], outDepth, source);
      const w = filterTap(backend, filter, t, [filterHeight, filterWidth, inChannels, outChannels]);
      try {
        acc.add(callWasmKernel('Conv2D', backend, { x: xs, filter: w }, conv2dAttrs));
      } finally {
        release(backend, xs);
      }
    }
  }
}

export const conv3dForwardConfig: KernelConfig = {
  kernelName: Conv3D,
  backendName: 'wasm',
  kernelFunc: conv3dWasm as unknown as KernelFunc,
};
