/**
 * Builds a runnable network from its JSON description: one tf.Variable per ParamSpec (initialised from
 * an injected seeded generator) and a forward function that walks the nodes in order.
 *
 * Spectrally normalised convs (spec.ts) get two non-trainable buffers, u and v, drawn from the same
 * generator after every parameter (so the parameters are those of the same network without spectral
 * norm) and refined by 15 power iterations at build time, as torch.nn.utils.parametrizations.
 * spectral_norm does. Every forward with `training: true` first runs one power iteration and stores u
 * and v (torch.nn.utils.spectral_norm in train mode); the forward itself only reads them, so a
 * recomputed forward sees the same σ, and u, v are constants for the gradient. `training: false` uses
 * the stored vectors unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import { avgPool, conv, convTranspose, instanceNorm, reflectPad, spectralNormalize, spectralPowerIteration } from './layers.ts';
import { withRecompute } from './recompute.ts';
import type { Rng } from './rng.ts';
import type { NetworkSpec, NodeSpec, ParamSpec } from './spec.ts';

export interface ApplyOptions {
  /** Dropout is active and spectral-norm power iterations run only when training. */
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
  /**
   * Non-trainable state a checkpoint must keep: the spectral-norm vectors '<node>.weight_u' and
   * '<node>.weight_v' of each spectrally normalised conv, in node order (empty without spectral norm).
   */
  readonly buffers: Map<string, tf.Variable>;
  /** Runs the network on [batch, ...spatial, inputChannels]; returns the main output [batch, ...spatial', outputChannels]. */
  apply(x: tf.Tensor, options?: ApplyOptions): tf.Tensor;
  /** Every output: the main one, then spec.extraOutputs in order (just [apply(x)] when there are none). */
  applyAll(x: tf.Tensor, options?: ApplyOptions): tf.Tensor[];
  /** The variables, in spec order (for optimizers and gradients). */
  variables(): tf.Variable[];
  dispose(): void;
}

/** Power iterations run when a spectrally normalised network is built (PyTorch's parametrization default). */
export const SPECTRAL_NORM_INIT_ITERATIONS = 15;

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

/** Which nodes one set of outputs needs, and the last of them to read each value. */
interface RunPlan {
  outputs: string[];
  nodes: { node: NodeSpec; index: number }[];
  lastUse: Map<string, number>;
  /** The parameters those nodes read (for recomputation's gradients). */
  variables: tf.Variable[];
}

export function buildNetwork(spec: NetworkSpec, rng: Rng, options: BuildOptions = {}): Network {
  const outputNames = [spec.output, ...(spec.extraOutputs ?? [])];
  const nodeNames = new Set(spec.nodes.map((n) => n.name));
  const missing = outputNames.filter((n) => !nodeNames.has(n));
  if (missing.length > 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${spec.kind}: output ${missing.join(', ')} is not a node of the network`, { param: 'spec.output' });
  }
  const prefix = `${options.name ?? spec.kind}#${++instanceCounter}`;
  const params = new Map<string, tf.Variable>();
  const buffers = new Map<string, tf.Variable>();
  const dispose = (): void => {
    for (const v of [...params.values(), ...buffers.values()]) v.dispose();
    params.clear();
    buffers.clear();
  };
  for (const p of spec.params) {
    const value = tf.tensor(initialValues(p, rng), p.shape, 'float32');
    params.set(p.name, tf.variable(value, options.trainable ?? true, `${prefix}/${p.name}`, 'float32'));
    value.dispose();
  }
  const param = (name: string): tf.Variable => params.get(name) as tf.Variable;
  const spectral = spec.nodes.filter((n): n is Extract<NodeSpec, { op: 'conv' }> => n.op === 'conv' && n.spectralNorm === true);
  const unitNormal = (n: number): Float32Array => {
    const x = Float32Array.from({ length: n }, () => rng.normal());
    const norm = Math.max(Math.sqrt(x.reduce((a, e) => a + e * e, 0)), 1e-12);
    return x.map((e) => e / norm);
  };
  for (const node of spectral) {
    const w = param(`${node.name}.weight`);
    for (const [suffix, n] of [
      ['u', node.outChannels],
      ['v', w.size / node.outChannels],
    ] as const) {
      const value = tf.tensor1d(unitNormal(n), 'float32');
      buffers.set(`${node.name}.weight_${suffix}`, tf.variable(value, false, `${prefix}/${node.name}.weight_${suffix}`, 'float32'));
      value.dispose();
    }
  }
  const buffer = (name: string): tf.Variable => buffers.get(name) as tf.Variable;
  /** One power iteration of every spectrally normalised conv; stores the new u and v. */
  const powerIteration = (): void => {
    if (spectral.length === 0) return;
    tf.tidy(() => {
      for (const node of spectral) {
        const { u, v } = spectralPowerIteration(param(`${node.name}.weight`), buffer(`${node.name}.weight_u`));
        buffer(`${node.name}.weight_u`).assign(u);
        buffer(`${node.name}.weight_v`).assign(v);
      }
    });
  };
  try {
    for (let i = 0; i < SPECTRAL_NORM_INIT_ITERATIONS && spectral.length > 0; i++) powerIteration();
  } catch (e) {
    dispose();
    throw e;
  }

  const outputSet = new Set(outputNames);
  // A bias added right before a (non-affine) instance norm is cancelled exactly by the norm's mean
  // subtraction, and its gradient is zero: skip the broadcast add (a slow op on wasm). The parameter
  // stays in the spec, so the network is still the reference one (PyTorch has these biases).
  const consumers = new Map<string, NodeSpec[]>();
  for (const node of spec.nodes) for (const i of node.inputs) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  const biasCancelled = new Set(
    spec.nodes
      .filter((n) => {
        const c = consumers.get(n.name) ?? [];
        return !outputSet.has(n.name) && c.length === 1 && c[0].op === 'instanceNorm' && !c[0].affine;
      })
      .map((n) => n.name),
  );
  const isUsedParam = (name: string): boolean => !(name.endsWith('.bias') && biasCancelled.has(name.slice(0, -5)));

  const makePlan = (outputs: string[]): RunPlan => {
    const needed = new Set(outputs);
    for (let i = spec.nodes.length - 1; i >= 0; i--) if (needed.has(spec.nodes[i].name)) for (const n of spec.nodes[i].inputs) needed.add(n);
    const nodes = spec.nodes.map((node, index) => ({ node, index })).filter(({ node }) => needed.has(node.name));
    const lastUse = new Map<string, number>();
    for (const { node, index } of nodes) for (const n of node.inputs) lastUse.set(n, index);
    const variables = [...params].filter(([name]) => needed.has(name.slice(0, name.lastIndexOf('.'))) && isUsedParam(name)).map(([, v]) => v);
    return { outputs, nodes, lastUse, variables };
  };
  const mainPlan = makePlan([spec.output]);
  const allPlan = outputNames.length > 1 ? makePlan(outputNames) : mainPlan;

  const weightOf = (node: Extract<NodeSpec, { op: 'conv' }>): tf.Tensor => {
    const w = param(`${node.name}.weight`);
    return node.spectralNorm ? spectralNormalize(w, buffer(`${node.name}.weight_u`), buffer(`${node.name}.weight_v`)) : w;
  };

  const runNode = (node: NodeSpec, ins: tf.Tensor[], options: ApplyOptions, index: number): tf.Tensor => {
    const x = ins[0];
    switch (node.op) {
      case 'conv': {
        const y = conv(x, weightOf(node), node.stride, node.padding);
        return node.bias && !biasCancelled.has(node.name) ? tf.add(y, param(`${node.name}.bias`)) : y;
      }
      case 'convTranspose': {
        const y = convTranspose(x, param(`${node.name}.weight`), node.stride, node.padding, node.outputPadding);
        return node.bias && !biasCancelled.has(node.name) ? tf.add(y, param(`${node.name}.bias`)) : y;
      }
      case 'reflectPad':
        return reflectPad(x, node.pad);
      case 'avgPool':
        return avgPool(x, node.kernel, node.stride, node.padding);
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

  const forward = (input: tf.Tensor, options: ApplyOptions, plan: RunPlan): tf.Tensor[] => {
    // Outside a gradient tape nothing needs the intermediates after their last use: free them early so
    // inference peaks at a few activations, not the whole network's.
    const state = tf.engine().state;
    const taping = state.gradientDepth > 0 && state.kernelDepth === 0;
    const values = new Map<string, tf.Tensor>([['input', input]]);
    for (const { node, index } of plan.nodes) {
      const ins = node.inputs.map((n) => values.get(n) as tf.Tensor);
      values.set(node.name, runNode(node, ins, options, index));
      if (!taping) {
        for (const n of node.inputs) {
          if (n !== 'input' && plan.lastUse.get(n) === index && !outputSet.has(n)) {
            (values.get(n) as tf.Tensor).dispose();
            values.delete(n);
          }
        }
      }
    }
    return plan.outputs.map((n) => values.get(n) as tf.Tensor);
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

  /** Runs `plan`; with recomputation the outputs travel as one flat tensor through withRecompute. */
  const run = (x: tf.Tensor, options: ApplyOptions, plan: RunPlan): tf.Tensor[] => {
    checkInput(x);
    if (options.training) powerIteration();
    if (!(options.recompute && tf.engine().state.gradientDepth > 0)) return tf.tidy(() => forward(x, options, plan));
    if (plan.outputs.length === 1) return [withRecompute((xi) => tf.tidy(() => forward(xi, options, plan)[0]), x, plan.variables)];
    let shapes: number[][] = [];
    const flat = withRecompute(
      (xi) =>
        tf.tidy(() => {
          const outs = forward(xi, options, plan);
          shapes = outs.map((o) => o.shape);
          return tf.concat(outs.map((o) => tf.reshape(o, [xi.shape[0], -1])), 1);
        }),
      x,
      plan.variables,
    );
    return tf.tidy(() => {
      const parts = tf.split(flat, shapes.map((s) => s.reduce((a, b) => a * b, 1) / s[0]), 1);
      flat.dispose();
      return parts.map((p, i) => tf.reshape(p, shapes[i]));
    });
  };

  return {
    spec,
    params,
    buffers,
    variables: () => [...params.values()],
    apply: (x, options = {}) => run(x, options, mainPlan)[0],
    applyAll: (x, options = {}) => run(x, options, allPlan),
    dispose,
  };
}
