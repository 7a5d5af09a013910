import type { KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { conv2dForwardConfig } from './conv2d-forward.ts';

/** 2-D convolution on wasm: both gradients, and the forward pass for 1–2 output channels. */
export const conv2dKernelConfigs: KernelConfig[] = [conv2dForwardConfig, conv2dBackpropInputConfig, conv2dBackpropFilterConfig];
