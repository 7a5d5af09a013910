import type { KernelConfig } from '@tensorflow/tfjs-core';
import { conv3dForwardConfig } from './conv3d-forward.ts';
import { conv3dBackpropInputConfig } from './conv3d-backprop-input.ts';
import { conv3dBackpropFilterConfig } from './conv3d-backprop-filter.ts';

/** Conv3D and both of its gradients on the wasm backend, composed of the backend's 2-D kernels. */
export const conv3dKernelConfigs: KernelConfig[] = [
  conv3dForwardConfig,
  conv3dBackpropInputConfig,
  conv3dBackpropFilterConfig,
];
