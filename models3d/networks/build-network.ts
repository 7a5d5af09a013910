/**
 * Builds a runnable network from its JSON description: one tf.Variable per ParamSpec (initialised from
 * an injected seeded generator) and a forward function that walks the nodes in order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import { conv, convTranspose, instanceNorm, reflectPad } from './layers.ts';
import { withRecompute } from './recompute.ts';
import type { Rng } from './rng.ts';
import type { NetworkSpec, NodeSpec, ParamSpec } from './spec.ts';

export interface ApplyOptions {
  /** Dropout is active only when training. */
  training?: boolean;
  /** Seed of the dropout masks (same seed, same masks). */
  seed?: number;
  /**
   * Keep no intermediate activations for the backward pass and recompute them there instead (saves
   * memory in training, costs one more forward pass).
   */
  recompute?: boolean;
}

export interface Network {
  readonly spec: NetworkSpec;
  /** Parameters by their spec name ('<node>.weight', '<node>.bias'), in spec order. */
  readonly params: Map<string, tf.Variable>;
  /** Runs the network on [batch, ...spatial, inputChannels]; returns [batch, ...spatial', outputChannels]. */
  apply(x: tf.Tensor, options?: ApplyOptions): tf.Tensor;
  /** The variables, in spec order (for optimizers and gradients). */
  variables(): tf.Variable[];
  dispose(): void;
}

let instanceCounter = 0;

function initialValues(p: ParamSpec, rng: Rng): Float32Array {
  const size = p.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  if (p.init.kind === 'ones') v.fill(1);
  else if (p.init.kind === 'normal') for (let i = 0; i < size; i++) v[i] = rng.normal(p.init.mean, p.init.std);
  return v;
}

export interface BuildOptions {
  /** Prefix of the tf.Variable names (they must be unique in the engine; a counter is appended). */
  name?: string;
  trainable?: boolean;
}

export function buildNetwork(spec: NetworkSpec, rng: Rng, options: BuildOptions = {}): Network {
  const prefix = `${options.name ?? spec.kind}#${++instanceCounter}`;
  const params = new Map<string, tf.Variable>();
  for (const p of spec.params) {
    const value = tf.tensor(initialValues(p, rng), p.shape, 'float32');
    params.set(p.name, tf.variable(value, options.trainable ?? true, `${prefix}/${p.name}`, 'float32'));
    value.dispose();
  }
  const lastUse = new Map<string, number>();
  spec.nodes.forEach((node, i) => node.inputs.forEach((name) => lastUse.set(name, i)));
  // A bias added right before a (non-affine) instance norm is cancelled exactly by the norm's mean
  // subtraction, and its gradient is zero: skip the broadcast add (a slow op on wasm). The parameter
  // stays in the spec, so the network is still the reference one (PyTorch has these biases).
  const consumers = new Map<string, NodeSpec[]>();
  for (const node of spec.nodes) for (const i of node.inputs) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  const biasCancelled = new Set(
    spec.nodes
      .filter((n) => {
        const c = consumers.get(n.name) ?? [];
        return n.name !== spec.output && c.length === 1 && c[0].op === 'instanceNorm' && !c[0].affine;
      })
      .map((n) => n.name),
  );
  const param = (name: string): tf.Variable => params.get(name) as tf.Variable;
  const usedVariables = [...params].filter(([name]) => !(name.endsWith('.bias') && biasCancelled.has(name.slice(0, -5)))).map(([, v]) => v);

  const runNode = (node: NodeSpec, ins: tf.Tensor[], options: ApplyOptions, index: number): tf.Tensor => {
    const x = ins[0];
    switch (node.op) {
      case 'conv': {
        const y = conv(x, param(`${node.name}.weight`), node.stride, node.padding);
        return node.bias && !biasCancelled.has(node.name) ? tf.add(y, param(`${node.name}.bias`)) : y;
      }
      case 'convTranspose': {
        const y = convTranspose(x, param(`${node.name}.weight`), node.stride, node.padding, node.outputPadding);
        return node.bias && !biasCancelled.has(node.name) ? tf.add(y, param(`${node.name}.bias`)) : y;
      }
      case 'reflectPad':
        return reflectPad(x, node.pad);
      case 'instanceNorm': {
        const y = instanceNorm(x, node.epsilon);
        return node.affine ? tf.add(tf.mul(y, param(`${node.name}.gamma`)), param(`${node.name}.beta`)) : y;
      }
      case 'relu':
        return tf.relu(x);
      case 'tanh':
        return tf.tanh(x);
      case 'leakyRelu':
        return tf.leakyRelu(x, node.alpha);
      case 'dropout':
        // Outside training a clone, not x itself: the forward pass frees x after its last use.
        return options.training ? tf.dropout(x, node.rate, undefined, (options.seed ?? 0) * 7919 + index) : tf.clone(x);
      case 'add':
        return tf.add(x, ins[1]);
      case 'concat':
        return tf.concat(ins, x.rank - 1);
    }
  };

  const forward = (input: tf.Tensor, options: ApplyOptions): tf.Tensor => {
    // Outside a gradient tape nothing needs the intermediates after their last use: free them early so
    // inference peaks at a few activations, not the whole network's.
    const state = tf.engine().state;
    const taping = state.gradientDepth > 0 && state.kernelDepth === 0;
    const values = new Map<string, tf.Tensor>([['input', input]]);
    spec.nodes.forEach((node, i) => {
      const ins = node.inputs.map((n) => values.get(n) as tf.Tensor);
      values.set(node.name, runNode(node, ins, options, i));
      if (!taping) {
        for (const n of node.inputs) {
          if (n !== 'input' && lastUse.get(n) === i && n !== spec.output) {
            (values.get(n) as tf.Tensor).dispose();
            values.delete(n);
          }
        }
      }
    });
    return values.get(spec.output) as tf.Tensor;
  };

  const checkInput = (x: tf.Tensor): void => {
    const want = spec.spatialDims + 2;
    const sp = x.shape.slice(1, -1);
    if (x.rank !== want || x.shape[x.rank - 1] !== spec.inputChannels || sp.some((n) => n % spec.sizeMultiple !== 0)) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `${spec.kind} expects [batch, ${Array(spec.spatialDims).fill(`n·${spec.sizeMultiple}`).join(', ')}, ${spec.inputChannels}], got [${x.shape.join(', ')}]`,
        { param: 'input', details: { received: x.shape } },
      );
    }
  };

  const network: Network = {
    spec,
    params,
    variables: () => [...params.values()],
    apply(x, options = {}) {
      checkInput(x);
      if (options.recompute && tf.engine().state.gradientDepth > 0) {
        return withRecompute((xi) => tf.tidy(() => forward(xi, options)), x, usedVariables);
      }
      return tf.tidy(() => forward(x, options));
    },
    dispose() {
      for (const v of params.values()) v.dispose();
      params.clear();
    },
  };
  return network;
}
