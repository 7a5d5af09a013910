/**
 * The "layer description" of a network: plain JSON (layer kinds, channel counts, attributes, parameter
 * shapes) from which the tfjs forward function is built (build-network.ts), and which a later exporter
 * turns into ONNX. Nothing in here depends on TensorFlow.js.
 *
 * Layout conventions (TensorFlow's, channels last):
 * - activations are [batch, ...spatial, channels] with `spatialDims` spatial axes (2: H W, 3: D H W);
 * - a `conv` weight is [...kernel, inChannels, outChannels];
 * - a `convTranspose` weight is [...kernel, outChannels, inChannels] (tfjs conv2dTranspose's layout).
 * Padding follows PyTorch: `padding` zeros on both sides of every spatial axis; a transposed convolution
 * produces (n - 1)·stride - 2·padding + kernel + outputPadding voxels per axis.
 *
 * A `conv` with `spectralNorm: true` uses W/σ(W) (Miyato et al. 2018, torch.nn.utils.spectral_norm):
 * the built network keeps two non-trainable buffers per such conv, `<node>.weight_u` [out] and
 * `<node>.weight_v` [kernel^dims·in, in the weight's kernel-then-in order], PyTorch's names. `avgPool` is PyTorch's AvgPool(kernel, stride,
 * padding, count_include_pad=False). A network may have `extraOutputs` besides `output` (e.g. the
 * coarser scales of a multi-scale discriminator).
 */

export type SpatialDims = 2 | 3;

export type NodeSpec =
  | {
      name: string;
      op: 'conv';
      inputs: [string];
      inChannels: number;
      outChannels: number;
      kernel: number;
      stride: number;
      padding: number;
      bias: boolean;
      /** Present (true) only on spectrally normalised convs. */
      spectralNorm?: boolean;
    }
  | {
      name: string;
      op: 'convTranspose';
      inputs: [string];
      inChannels: number;
      outChannels: number;
      kernel: number;
      stride: number;
      padding: number;
      outputPadding: number;
      bias: boolean;
    }
  | { name: string; op: 'reflectPad'; inputs: [string]; pad: number }
  | { name: string; op: 'avgPool'; inputs: [string]; kernel: number; stride: number; padding: number }
  | { name: string; op: 'instanceNorm'; inputs: [string]; channels: number; epsilon: number; affine: boolean }
  | { name: string; op: 'relu' | 'tanh'; inputs: [string] }
  | { name: string; op: 'leakyRelu'; inputs: [string]; alpha: number }
  | { name: string; op: 'dropout'; inputs: [string]; rate: number }
  | { name: string; op: 'add'; inputs: [string, string] }
  | { name: string; op: 'concat'; inputs: string[] };

export type NodeOp = NodeSpec['op'];

export type InitSpec = { kind: 'normal'; mean: number; std: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParamSpec {
  /** `<node name>.weight` or `<node name>.bias` (or `.gamma`/`.beta` for an affine instance norm). */
  name: string;
  shape: number[];
  init: InitSpec;
}

export interface NetworkSpec {
  format: 'voxshift-network/1';
  /** The architecture, e.g. 'resnet-generator', 'unet-generator', 'patch-discriminator'. */
  kind: string;
  spatialDims: SpatialDims;
  inputChannels: number;
  outputChannels: number;
  /** The input is called 'input'; nodes are in execution order, each reading earlier names. */
  nodes: NodeSpec[];
  /** The main output (what Network.apply returns). */
  output: string;
  /** Further outputs, returned after the main one by Network.applyAll; absent when there are none. */
  extraOutputs?: string[];
  params: ParamSpec[];
  /** Every spatial input size must be a multiple of this (2^downsamplings). */
  sizeMultiple: number;
  /** The configuration the description was made from (for manifests). */
  config: Record<string, unknown>;
}
