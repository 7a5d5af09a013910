/**
 * Adam (Kingma & Ba), as PyTorch's torch.optim.Adam computes it (bias-corrected moments, ε added to
 * the bias-corrected √v), updating one variable at a time inside its own tidy scope: tfjs-core's
 * AdamOptimizer runs every variable's update in one scope, so the temporaries of all parameters
 * (about eight tensors of each parameter's size) are alive together — hundreds of MB of the 4 GB wasm
 * heap for a CycleGAN at 128². Here the peak is the temporaries of the largest single parameter.
 * On wasm the update is one fused pass per parameter (engine/kernels/adam-update.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, adamUpdateAttrs } from '../engine/kernels/adam-update.ts';

export interface AdamConfig {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface AdamState {
  step: number;
  /** First and second moments by variable name. */
  moments: Map<string, { m: tf.Variable; v: tf.Variable }>;
}

export class Adam {
  /** The rate applyGradients uses when given none; a schedule may change it between steps. */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private stepCount = 0;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();

  constructor(config: AdamConfig = {}) {
    this.learningRate = config.learningRate ?? 2e-4;
    this.beta1 = config.beta1 ?? 0.5;
    this.beta2 = config.beta2 ?? 0.999;
    this.epsilon = config.epsilon ?? 1e-8;
  }

  /** Steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** One update of every variable that has a gradient (by tf.Variable name); others are left alone. */
  applyGradients(grads: Map<string, tf.Tensor>, learningRate = this.learningRate): void {
    this.stepCount++;
    const t = this.stepCount;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const stepSize = learningRate / bc1;
    const invSqrtBc2 = 1 / Math.sqrt(bc2);
    const registry = tf.engine().registeredVariables;
    for (const [name, g] of grads) {
      const variable = registry[name];
      if (variable === undefined) throw new Error(`Adam: no variable named ${name}`);
      let slot = this.moments.get(name);
      if (slot === undefined) {
        slot = tf.tidy(() => ({
          m: tf.variable(tf.zerosLike(variable), false, `${name}/adam_m`),
          v: tf.variable(tf.zerosLike(variable), false, `${name}/adam_v`),
        }));
        this.moments.set(name, slot);
      }
      const { m, v } = slot;
      const fused = tf.getBackend() === 'wasm' && tf.getKernel(ADAM_UPDATE, 'wasm') !== undefined;
      tf.tidy(() => {
        let m1: tf.Tensor, v1: tf.Tensor, p1: tf.Tensor;
        if (fused) {
          const attrs = adamUpdateAttrs({ beta1: this.beta1, beta2: this.beta2, stepSize, invSqrtBc2, epsilon: this.epsilon });
          [p1, m1, v1] = tf.engine().runKernel(ADAM_UPDATE, { p: variable, m, v, g }, attrs) as tf.Tensor[];
        } else {
          // m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
          m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
          v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
          // p ← p − (lr / bc1) · m / (√v / √bc2 + ε)
          const denom = tf.add(tf.mul(tf.sqrt(v1), invSqrtBc2), this.epsilon);
          p1 = tf.sub(variable, tf.mul(tf.div(m1, denom), stepSize));
        }
        m.assign(m1);
        v.assign(v1);
        variable.assign(p1);
      });
    }
  }

  /** The optimizer's state (for checkpoints): step count and the moment variables (not copies). */
  getState(): AdamState {
    return { step: this.stepCount, moments: new Map(this.moments) };
  }

  /** Restores a state saved with getState (values are copied into this optimizer's variables). */
  setState(step: number, moments: Map<string, { m: tf.Tensor; v: tf.Tensor }>): void {
    this.stepCount = step;
    for (const [name, { m, v }] of moments) {
      let slot = this.moments.get(name);
      if (slot === undefined) {
        slot = { m: tf.variable(m, false, `${name}/adam_m`), v: tf.variable(v, false, `${name}/adam_v`) };
        this.moments.set(name, slot);
      } else {
        slot.m.assign(m);
        slot.v.assign(v);
      }
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}
