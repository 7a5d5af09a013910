/** Shape inference and activation-memory estimates over a NetworkSpec, without running it. */
import { VoxshiftError } from '../../volumes/errors.ts';
import { convTransposeSize, poolSize } from './layers.ts';
import type { NetworkSpec, NodeSpec } from './spec.ts';

/** Every node's output shape ([batch, ...spatial, channels]) for an input of `spatial` voxels per axis. */
export function inferShapes(spec: NetworkSpec, spatial: number[], batch = 1): Map<string, number[]> {
  if (spatial.length !== spec.spatialDims) {
    throw new VoxshiftError('INVALID_ARGUMENT', `a ${spec.spatialDims}-D network needs ${spec.spatialDims} sizes, got [${spatial.join(', ')}]`, {
      param: 'spatial',
    });
  }
  for (const n of spatial) {
    if (!Number.isInteger(n) || n <= 0 || n % spec.sizeMultiple !== 0) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind} needs spatial sizes that are positive multiples of ${spec.sizeMultiple}, got [${spatial.join(', ')}]`, {
        param: 'spatial',
        details: { received: spatial, multipleOf: spec.sizeMultiple },
      });
    }
  }
  const shapes = new Map<string, number[]>([['input', [batch, ...spatial, spec.inputChannels]]]);
  for (const node of spec.nodes) shapes.set(node.name, nodeShape(node, node.inputs.map((i) => shapes.get(i) as number[])));
  return shapes;
}

function nodeShape(node: NodeSpec, ins: number[][]): number[] {
  const x = ins[0];
  const sp = x.slice(1, -1);
  switch (node.op) {
    case 'conv': {
      const out = sp.map((n) => Math.floor((n + 2 * node.padding - node.kernel) / node.stride) + 1);
      if (out.some((n) => n < 1)) throw new VoxshiftError('INVALID_ARGUMENT', `input too small for ${node.name}: ${sp.join('×')}`, { param: 'spatial' });
      return [x[0], ...out, node.outChannels];
    }
    case 'convTranspose':
      return [x[0], ...sp.map((n) => convTransposeSize(n, node.kernel, node.stride, node.padding, node.outputPadding)), node.outChannels];
    case 'reflectPad':
      if (sp.some((n) => n <= node.pad)) throw new VoxshiftError('INVALID_ARGUMENT', `input too small for reflection padding ${node.pad} at ${node.name}: ${sp.join('×')}`, { param: 'spatial' });
      return [x[0], ...sp.map((n) => n + 2 * node.pad), x[x.length - 1]];
    case 'concat':
      return [...x.slice(0, -1), ins.reduce((s, i) => s + i[i.length - 1], 0)];
    case 'avgPool': {
      const out = sp.map((n) => poolSize(n, node.kernel, node.stride, node.padding));
      if (out.some((n) => n < 1)) throw new VoxshiftError('INVALID_ARGUMENT', `input too small for ${node.name}: ${sp.join('×')}`, { param: 'spatial' });
      return [x[0], ...out, x[x.length - 1]];
    }
    default:
      return x;
  }
}

const product = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Bytes a forward pass keeps alive for the backward pass (float32): each node's output, times the
 * intermediates its gradient needs (instance norm keeps about four tensors of its size, a conv's
 * gradient needs its padded input and a buffer as big as its output).
 */
export function activationBytes(spec: NetworkSpec, spatial: number[], batch = 1): number {
  const shapes = inferShapes(spec, spatial, batch);
  let elements = 0;
  for (const node of spec.nodes) {
    const n = product(shapes.get(node.name) as number[]);
    const factor = node.op === 'instanceNorm' ? 4 : node.op === 'conv' || node.op === 'convTranspose' ? 2 : 1;
    elements += n * factor;
  }
  return elements * 4;
}

/** Bytes of the largest single activation (what a kernel's scratch buffers scale with). */
export function largestActivationBytes(spec: NetworkSpec, spatial: number[], batch = 1): number {
  const shapes = inferShapes(spec, spatial, batch);
  let max = 0;
  for (const s of shapes.values()) max = Math.max(max, product(s));
  return max * 4;
}

export function parameterCount(spec: NetworkSpec): number {
  return spec.params.reduce((s, p) => s + product(p.shape), 0);
}

/** Multiply-adds ×2 of one forward pass (convolutions only; the rest is a rounding error). */
export function forwardFlops(spec: NetworkSpec, spatial: number[], batch = 1): number {
  const shapes = inferShapes(spec, spatial, batch);
  let flops = 0;
  for (const node of spec.nodes) {
    if (node.op === 'conv') {
      flops += 2 * product(shapes.get(node.name) as number[]) * node.inChannels * node.kernel ** spec.spatialDims;
    } else if (node.op === 'convTranspose') {
      flops += 2 * product(shapes.get(node.inputs[0]) as number[]) * node.outChannels * node.kernel ** spec.spatialDims;
    }
  }
  return flops;
}
