import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../models3d/engine/backend.ts';
import { ADAM_UPDATE } from '../../../models3d/engine/kernels/adam-update.ts';
import { Adam } from '../../../models3d/training/optimizer.ts';

beforeAll(async () => {
  await initBackend('wasm', { threads: 1 });
  await initBackend('cpu');
});

describe.each(['cpu', 'wasm'])('Adam on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('follows torch.optim.Adam (bias-corrected, ε after √v̂) step by step, and leaves no tensors behind', () => {
    // On wasm the update is the fused kernel; on cpu the op-by-op form.
    expect(tf.getKernel(ADAM_UPDATE, 'wasm')).toBeDefined();
    const p0 = [0.5, -1, 2, 0];
    const grads = [
      [0.1, -0.2, 0.3, 0],
      [0.05, 0.4, -0.3, 1e-3],
      [-0.2, 0.1, 0.0, -1e-3],
    ];
    const cfg = { learningRate: 0.01, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
    const w = tf.variable(tf.tensor1d(p0), true, `adam-test/w-${backend}`);
    const opt = new Adam(cfg);
    // Reference: the loop of torch.optim.Adam in doubles.
    const p = p0.slice();
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    const counts: number[] = [];
    grads.forEach((g, k) => {
      const t = k + 1;
      for (let i = 0; i < 4; i++) {
        m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * g[i];
        v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * g[i] * g[i];
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - cfg.beta2 ** t) + cfg.epsilon;
        p[i] -= (cfg.learningRate / (1 - cfg.beta1 ** t)) * (m[i] / denom);
      }
      const gt = tf.tensor1d(g);
      opt.applyGradients(new Map([[w.name, gt]]));
      gt.dispose();
      counts.push(tf.memory().numTensors);
      const got = Array.from(w.dataSync());
      for (let i = 0; i < 4; i++) expect(got[i]).toBeCloseTo(p[i], 6);
    });
    expect(opt.step).toBe(3);
    expect(counts[2]).toBe(counts[1]);
    const state = opt.getState();
    expect(Array.from((state.moments.get(w.name)?.m as tf.Variable).dataSync()).map((x) => Number(x.toFixed(6)))).toEqual(m.map((x) => Number(x.toFixed(6))));
    opt.dispose();
    w.dispose();
  });

  it('names the variable it cannot find', () => {
    const opt = new Adam();
    const g = tf.zeros([1]);
    expect(() => opt.applyGradients(new Map([['no-such-variable', g]]))).toThrow(/no-such-variable/);
    g.dispose();
  });
});
