import type { KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';

/** 2-D convolution gradients on wasm (the forward Conv2D stays XNNPACK's own). */
export const conv2dKernelConfigs: KernelConfig[] = [conv2dBackpropInputConfig, conv2dBackpropFilterConfig];
