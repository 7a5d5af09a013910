import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { buildNetwork } from '../../../models3d/networks/build-network.ts';
import { avgPool } from '../../../models3d/networks/layers.ts';
import { describePatchDiscriminator, patchReceptiveField } from '../../../models3d/networks/patch-discriminator.ts';
import { describeResnetGenerator } from '../../../models3d/networks/resnet-generator.ts';
import { createRng } from '../../../models3d/networks/rng.ts';
import { inferShapes, parameterCount } from '../../../models3d/networks/shapes.ts';
import type { NetworkSpec } from '../../../models3d/networks/spec.ts';
import { describeUnetGenerator } from '../../../models3d/networks/unet-generator.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('network descriptions', () => {
  // Parameter counts printed by the reference CycleGAN/pix2pix code for 3-channel images.
  it('match the reference implementation parameter counts (2-D, 3 channels)', () => {
    expect(parameterCount(describeResnetGenerator({ spatialDims: 2, inputChannels: 3, outputChannels: 3, ngf: 64, blocks: 9 }))).toBe(11_378_179);
    expect(parameterCount(describePatchDiscriminator({ spatialDims: 2, inputChannels: 3, ndf: 64, layers: 3 }))).toBe(2_764_737);
    // The reference prints 54,413,955 for unet_256 with its default batch norm (convs before a norm have no
    // bias, each norm has 2 affine parameters per channel); with instance norm (affine=False) every conv
    // has a bias instead, 4,352 fewer parameters.
    expect(parameterCount(describeUnetGenerator({ spatialDims: 2, inputChannels: 3, outputChannels: 3, ngf: 64, depth: 8 }))).toBe(54_413_955 - 4_352);
  });

  it('PatchGAN with 3 layers sees 70 voxels per axis', () => {
    expect(patchReceptiveField(3)).toBe(70);
  });

  it('are plain JSON: a serialised and re-parsed spec builds the same network', () => {
    const spec = describeResnetGenerator({ spatialDims: 3, ngf: 4, blocks: 1 });
    const parsed = JSON.parse(JSON.stringify(spec)) as NetworkSpec;
    expect(parsed).toEqual(spec);
    const a = buildNetwork(spec, createRng(3));
    const b = buildNetwork(parsed, createRng(3));
    const x = tf.randomNormal([1, 8, 8, 8, 1], 0, 1, 'float32', 5);
    expect(Array.from(a.apply(x).dataSync())).toEqual(Array.from(b.apply(x).dataSync()));
    a.dispose();
    b.dispose();
  });

  it('rejects bad configurations with INVALID_ARGUMENT naming the parameter', () => {
    const attempts: [() => unknown, string][] = [
      [() => describeResnetGenerator({ spatialDims: 4 as 2 }), 'spatialDims'],
      [() => describeResnetGenerator({ spatialDims: 2, ngf: 0 }), 'ngf'],
      [() => describeUnetGenerator({ spatialDims: 2, depth: 1 }), 'depth'],
      [() => describePatchDiscriminator({ spatialDims: 3, layers: 2.5 }), 'layers'],
      [() => describeUnetGenerator({ spatialDims: 2, dropout: 1 }), 'dropout'],
    ];
    for (const [f, param] of attempts) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as { param?: string }).param).toBe(param);
      }
    }
  });
});

describe('the same builders give 2-D and 3-D networks', () => {
  for (const dims of [2, 3] as const) {
    const n = dims === 2 ? 32 : 16;
    const sp = Array<number>(dims).fill(n);
    it(`${dims}-D ResNet generator, U-Net generator and PatchGAN: output shapes and init`, () => {
      const before = tf.memory().numTensors;
      const resnet = buildNetwork(describeResnetGenerator({ spatialDims: dims, ngf: 4, blocks: 2, inputChannels: 2, outputChannels: 1 }), createRng(1));
      const x2 = tf.randomNormal([2, ...sp, 2], 0, 1, 'float32', 1);
      const y = resnet.apply(x2);
      expect(y.shape).toEqual([2, ...sp, 1]);
      const yd = y.dataSync();
      expect(yd.every((v) => v > -1 && v < 1)).toBe(true);
      // weights ~ N(0, 0.02), biases 0
      const w = resnet.params.get('block1.conv1.weight') as tf.Variable;
      expect(w.shape).toEqual([...Array<number>(dims).fill(3), 16, 16]);
      const wd = Array.from(w.dataSync());
      const mean = wd.reduce((a, v) => a + v, 0) / wd.length;
      const std = Math.sqrt(wd.reduce((a, v) => a + (v - mean) ** 2, 0) / wd.length);
      expect(Math.abs(mean)).toBeLessThan(0.003);
      expect(std).toBeGreaterThan(0.018);
      expect(std).toBeLessThan(0.022);
      expect(Array.from((resnet.params.get('head.conv.bias') as tf.Variable).dataSync())).toEqual([0]);

      const unet = buildNetwork(describeUnetGenerator({ spatialDims: dims, ngf: 2, depth: 3, inputChannels: 2, outputChannels: 3 }), createRng(2));
      const u = unet.apply(x2, { training: true, seed: 1 });
      expect(u.shape).toEqual([2, ...sp, 3]);

      const disc = buildNetwork(describePatchDiscriminator({ spatialDims: dims, ndf: 2, inputChannels: 2 }), createRng(3));
      // conv4 s2 p1 halves three times, then two conv4 s1 p1 take 1 off each.
      const dn = dims === 2 ? 32 : 24;
      const dOut = dn / 8 - 2;
      const xd = tf.randomNormal([2, ...Array<number>(dims).fill(dn), 2], 0, 1, 'float32', 1);
      const d = disc.apply(xd);
      expect(d.shape).toEqual([2, ...Array<number>(dims).fill(dOut), 1]);
      expect(inferShapes(disc.spec, Array<number>(dims).fill(dn), 2).get(disc.spec.output)).toEqual(d.shape);

      tf.dispose([x2, y, u, xd, d]);
      resnet.dispose();
      unet.dispose();
      disc.dispose();
      // apply() leaves nothing behind but its output
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('same seed, same weights; different seed, different weights', () => {
    const spec = describePatchDiscriminator({ spatialDims: 2, ndf: 2 });
    const a = buildNetwork(spec, createRng(11));
    const b = buildNetwork(spec, createRng(11));
    const c = buildNetwork(spec, createRng(12));
    const wa = (a.params.get('layer1.conv.weight') as tf.Variable).dataSync();
    expect(Array.from(wa)).toEqual(Array.from((b.params.get('layer1.conv.weight') as tf.Variable).dataSync()));
    expect(Array.from(wa)).not.toEqual(Array.from((c.params.get('layer1.conv.weight') as tf.Variable).dataSync()));
    [a, b, c].forEach((n) => n.dispose());
  });

  it('a bias that feeds an instance norm changes nothing (the norm cancels it), others do', () => {
    const net = buildNetwork(describeResnetGenerator({ spatialDims: 2, ngf: 2, blocks: 1 }), createRng(1));
    const x = tf.randomNormal([1, 8, 8, 1], 0, 1, 'float32', 2);
    const y0 = net.apply(x).dataSync();
    (net.params.get('block1.conv1.bias') as tf.Variable).assign(tf.fill([8], 0.5));
    expect(Array.from(net.apply(x).dataSync())).toEqual(Array.from(y0));
    (net.params.get('head.conv.bias') as tf.Variable).assign(tf.fill([1], 0.5));
    expect(Array.from(net.apply(x).dataSync())).not.toEqual(Array.from(y0));
    net.dispose();
    x.dispose();
  });

  it('inference through a dropout layer (identity outside training) leaves its output alive and deterministic', () => {
    const net = buildNetwork(describeResnetGenerator({ spatialDims: 2, ngf: 2, blocks: 1, dropout: 0.5 }), createRng(2));
    expect(net.spec.nodes.some((n) => n.op === 'dropout')).toBe(true);
    const x = tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const a = net.apply(x);
    const b = net.apply(x, { training: false });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    net.dispose();
  });

  it('rejects an input of the wrong rank, channels or size', () => {
    const net = buildNetwork(describeResnetGenerator({ spatialDims: 2, ngf: 2, blocks: 1 }), createRng(1));
    for (const shape of [[1, 8, 8, 8, 1], [1, 8, 8, 2], [1, 10, 8, 1]]) {
      const x = tf.zeros(shape);
      expect(() => net.apply(x)).toThrow(/expects/);
      x.dispose();
    }
    net.dispose();
  });
});

describe('PatchGAN options: multi-scale (pix2pixHD) and spectral norm', () => {
  it('the defaults describe exactly the plain PatchGAN (no new keys)', () => {
    const plain = describePatchDiscriminator({ spatialDims: 2, ndf: 4, layers: 2 });
    expect(describePatchDiscriminator({ spatialDims: 2, ndf: 4, layers: 2, scales: 1, spectralNorm: false })).toEqual(plain);
    expect(JSON.stringify(plain)).not.toMatch(/spectralNorm|extraOutputs|scales|avgPool/);
  });

  // conv4 s2 p1 halves, conv4 s1 p1 takes 1 off; between scales AvgPool(3, 2, 1) gives ⌈n/2⌉.
  const cases = [
    { dims: 2, n: 64, layers: 2, sizes: [14, 6, 2] },
    { dims: 3, n: 24, layers: 1, sizes: [10, 4, 1] },
  ] as const;
  for (const c of cases) {
    it(`${c.dims}-D, 3 scales: applyAll gives one output per scale; scale s is a PatchGAN on the input pooled s times`, () => {
      const before = tf.memory().numTensors;
      const spec = describePatchDiscriminator({ spatialDims: c.dims, ndf: 2, layers: c.layers, inputChannels: 2, scales: 3 });
      expect(spec.output).toBe('head.conv');
      expect(spec.extraOutputs).toEqual(['scale1.head.conv', 'scale2.head.conv']);
      expect(spec.nodes.filter((n) => n.op === 'avgPool').map((n) => [n.name, n.inputs[0]])).toEqual([
        ['scale1.downsample', 'input'],
        ['scale2.downsample', 'scale1.downsample'],
      ]);
      expect(parameterCount(spec)).toBe(3 * parameterCount(describePatchDiscriminator({ spatialDims: c.dims, ndf: 2, layers: c.layers, inputChannels: 2 })));
      const net = buildNetwork(spec, createRng(4));
      const x = tf.randomNormal([2, ...Array<number>(c.dims).fill(c.n), 2], 0, 1, 'float32', 3);
      const outs = net.applyAll(x);
      expect(outs.map((o) => o.shape)).toEqual(c.sizes.map((s) => [2, ...Array<number>(c.dims).fill(s), 1]));
      const main = net.apply(x);
      expect(Array.from(main.dataSync())).toEqual(Array.from(outs[0].dataSync()));
      // Branch s = a single-scale PatchGAN with the branch's weights on avgPool^s(x).
      const single = buildNetwork(describePatchDiscriminator({ spatialDims: c.dims, ndf: 2, layers: c.layers, inputChannels: 2 }), createRng(0));
      let pooled = x.clone();
      for (let s = 0; s < 3; s++) {
        for (const [name, v] of single.params) v.assign(net.params.get(s === 0 ? name : `scale${s}.${name}`) as tf.Variable);
        const y = single.apply(pooled);
        const yd = y.dataSync();
        const od = outs[s].dataSync();
        for (let i = 0; i < yd.length; i++) expect(od[i]).toBeCloseTo(yd[i], 5);
        const next = avgPool(pooled, 3, 2, 1);
        tf.dispose([pooled, y]);
        pooled = next;
      }
      tf.dispose([x, main, pooled, ...outs]);
      net.dispose();
      single.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('recomputed activations give the same gradients through all outputs', () => {
    const net = buildNetwork(describePatchDiscriminator({ spatialDims: 2, ndf: 2, layers: 1, scales: 2, spectralNorm: true }), createRng(5));
    const x = tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', 6);
    const grads = (recompute: boolean): Float32Array[] => {
      const { value, grads: g } = tf.variableGrads(
        () => tf.addN(net.applyAll(x, { recompute }).map((o, i) => tf.mul(tf.mean(tf.square(o)), i + 1))) as tf.Scalar,
        net.variables(),
      );
      value.dispose();
      // Biases cancelled by an instance norm get no gradient entry.
      expect(Object.keys(g).length).toBeGreaterThan(net.variables().length / 2);
      return net.variables().map((v) => {
        const d = g[v.name] === undefined ? new Float32Array(0) : (g[v.name].dataSync() as Float32Array);
        g[v.name]?.dispose();
        return d;
      });
    };
    const plain = grads(false);
    const recomputed = grads(true);
    plain.forEach((p, i) => {
      expect(recomputed[i].length).toBe(p.length);
      const scale = Math.max(...p.map(Math.abs), 1e-12);
      for (let j = 0; j < p.length; j++) expect(Math.abs(recomputed[i][j] - p[j]) / scale).toBeLessThan(1e-5);
    });
    x.dispose();
    net.dispose();
  });

  it('spectral norm: same weights as without, u/v buffers per conv, one power iteration per training forward, σ(W/σ) → 1', () => {
    const spec = describePatchDiscriminator({ spatialDims: 2, ndf: 4, layers: 2, spectralNorm: true });
    const convs = spec.nodes.filter((n) => n.op === 'conv');
    expect(convs.every((n) => n.spectralNorm === true)).toBe(true);
    const sn = buildNetwork(spec, createRng(7));
    const plain = buildNetwork(describePatchDiscriminator({ spatialDims: 2, ndf: 4, layers: 2 }), createRng(7));
    expect([...sn.params.keys()]).toEqual([...plain.params.keys()]);
    for (const [k, v] of plain.params) expect(Array.from((sn.params.get(k) as tf.Variable).dataSync())).toEqual(Array.from(v.dataSync()));
    expect(plain.buffers.size).toBe(0);
    expect([...sn.buffers.keys()]).toEqual(convs.flatMap((n) => [`${n.name}.weight_u`, `${n.name}.weight_v`]));
    for (const n of convs) {
      if (n.op !== 'conv') continue;
      expect((sn.buffers.get(`${n.name}.weight_u`) as tf.Variable).shape).toEqual([n.outChannels]);
      expect((sn.buffers.get(`${n.name}.weight_v`) as tf.Variable).shape).toEqual([16 * n.inChannels]);
      expect((sn.buffers.get(`${n.name}.weight_u`) as tf.Variable).trainable).toBe(false);
    }
    expect(sn.variables()).toHaveLength(plain.variables().length);

    const x = tf.randomNormal([1, 24, 24, 1], 0, 1, 'float32', 8);
    const u = (): number[] => Array.from((sn.buffers.get('layer1.conv.weight_u') as tf.Variable).dataSync());
    const u0 = u();
    const y0 = sn.apply(x);
    const y0b = sn.apply(x, { training: false });
    expect(u()).toEqual(u0);
    expect(Array.from(y0b.dataSync())).toEqual(Array.from(y0.dataSync()));
    const before = tf.memory().numTensors;
    // Power iteration converges slowly when the top singular values are close (layer2 here: 4e-3 off
    // after 15 + 30); 300 training forwards bring every conv within 1e-5.
    for (let i = 0; i < 300; i++) sn.apply(x, { training: true }).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(u()).not.toEqual(u0);
    // The normalised weights' largest singular value is 1 (σ of W/σ̂ by many power iterations in JS).
    for (const n of convs) {
      const w = (sn.params.get(`${n.name}.weight`) as tf.Variable).dataSync();
      const out = n.op === 'conv' ? n.outChannels : 0;
      const uu = (sn.buffers.get(`${n.name}.weight_u`) as tf.Variable).dataSync();
      const vv = (sn.buffers.get(`${n.name}.weight_v`) as tf.Variable).dataSync();
      const rows = w.length / out;
      let sigmaHat = 0;
      for (let r = 0; r < rows; r++) for (let c = 0; c < out; c++) sigmaHat += vv[r] * w[r * out + c] * uu[c];
      let z = Array.from({ length: out }, () => 1);
      let sigma = 0;
      for (let it = 0; it < 3000; it++) {
        const mz = Array.from({ length: rows }, (_, r) => z.reduce((a, zc, c) => a + w[r * out + c] * zc, 0));
        const next = z.map((_, c) => mz.reduce((a, m, r) => a + w[r * out + c] * m, 0));
        const norm = Math.hypot(...next);
        sigma = Math.sqrt(norm / Math.hypot(...z));
        z = next.map((e) => e / norm);
      }
      expect(Math.abs(sigma / sigmaHat - 1)).toBeLessThan(1e-5);
    }
    tf.dispose([x, y0, y0b]);
    sn.dispose();
    plain.dispose();
  });
});
