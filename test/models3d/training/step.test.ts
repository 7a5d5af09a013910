import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { buildNetwork, type Network } from '../../../models3d/networks/build-network.ts';
import { describePatchDiscriminator } from '../../../models3d/networks/patch-discriminator.ts';
import { describeResnetGenerator } from '../../../models3d/networks/resnet-generator.ts';
import { createRng } from '../../../models3d/networks/rng.ts';
import { describeUnetGenerator } from '../../../models3d/networks/unet-generator.ts';
import { ganLoss } from '../../../models3d/training/losses.ts';
import { createCycleGanTrainer, createPix2PixTrainer, type CycleGanNetworks, type GradientMap } from '../../../models3d/training/step.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { useBackend } from './training-backend.ts';

type Dims = 2 | 3;
const SIZE: Record<Dims, number> = { 2: 16, 3: 8 };
// A PatchGAN that still has an output on the tiny test images (3 layers need ≥ 24 voxels per axis).
const DISC_LAYERS: Record<Dims, number> = { 2: 2, 3: 1 };

function cycleNets(dims: Dims, seed = 1): CycleGanNetworks {
  const rng = createRng(seed);
  const g = describeResnetGenerator({ spatialDims: dims, ngf: 4, blocks: 1 });
  const d = describePatchDiscriminator({ spatialDims: dims, ndf: 4, layers: DISC_LAYERS[dims] });
  return {
    genAB: buildNetwork(g, rng, { name: 'genAB' }),
    genBA: buildNetwork(g, rng, { name: 'genBA' }),
    discA: buildNetwork(d, rng, { name: 'discA' }),
    discB: buildNetwork(d, rng, { name: 'discB' }),
  };
}

function disposeNets(nets: Record<string, Network>): void {
  for (const n of Object.values(nets)) n.dispose();
}

function images(dims: Dims, seed: number, channels = 1): tf.Tensor {
  const rng = createRng(seed);
  const shape = [1, ...Array<number>(dims).fill(SIZE[dims]), channels];
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), shape);
}

/**
 * max over variables of max|a − b|, relative to the largest |gradient| of the whole set (a conv bias
 * followed by instance norm has a gradient of exactly zero in theory, i.e. rounding noise in practice,
 * so a per-tensor scale would compare noise with noise).
 */
function gradientMismatch(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let scale = 0;
  for (const bv of b.values()) for (const v of bv) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let worstKey = '';
  for (const [k, av] of a) {
    const bv = b.get(k) as Float32Array;
    let diff = 0;
    for (let i = 0; i < av.length; i++) diff = Math.max(diff, Math.abs(av[i] - bv[i]));
    if (!(diff <= worst)) worstKey = k;
    worst = Math.max(worst, diff);
  }
  const rel = worst / Math.max(scale, 1e-30);
  if (rel > 1e-5) console.log(`largest gradient mismatch ${rel.toExponential(2)} of max |g| at ${worstKey}`);
  return rel;
}

/** Gradients keyed by the parameter's name within its network (variable names carry a build counter). */
function read(grads: GradientMap): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, g] of grads) {
    out.set(name.replace(/#\d+/, ''), g.dataSync() as Float32Array);
    g.dispose();
  }
  return out;
}

afterAll(async () => {
  await useBackend('cpu');
});

describe('CycleGAN generator gradients: split parts, recomputation and backends agree', () => {
  for (const dims of [2, 3] as const) {
    it(`${dims}-D: split into 4 parts and recomputed activations give the joint gradient`, async () => {
      await useBackend('wasm');
      const nets = cycleNets(dims);
      const a = images(dims, 1);
      const b = images(dims, 2);
      const run = (splitGenerators: boolean, recompute: boolean): Map<string, Float32Array> => {
        const t = createCycleGanTrainer(nets, { splitGenerators, recompute });
        expect(t.plan(a)).toMatchObject({ splitGenerators, recompute });
        const r = t.generatorGradients(a, b);
        tf.dispose([r.fakeA, r.fakeB]);
        t.dispose();
        return read(r.grads);
      };
      const joint = run(false, false);
      // Every weight and the output conv's bias; the other biases feed an instance norm, which cancels
      // them (zero gradient), so the forward pass skips them and they get no gradient entry.
      const trained = [...nets.genAB.params.keys()].filter((k) => k.endsWith('.weight') || k === 'head.conv.bias');
      expect(joint.size).toBe(2 * trained.length);
      expect(gradientMismatch(run(true, false), joint)).toBeLessThan(1e-5);
      expect(gradientMismatch(run(true, true), joint)).toBeLessThan(1e-5);
      expect(gradientMismatch(run(false, true), joint)).toBeLessThan(1e-5);
      tf.dispose([a, b]);
      disposeNets({ ...nets });
    });
  }

  for (const dims of [2, 3] as const) {
    it(`${dims}-D: wasm with voxshift kernels matches the pure-JS backend within 1e-4 (CycleGAN G and D, pix2pix G)`, async () => {
      await useBackend('cpu');
      const nets = cycleNets(dims, 5);
      const gen = buildNetwork(describeResnetGenerator({ spatialDims: dims, ngf: 4, blocks: 1 }), createRng(9));
      const disc = buildNetwork(describePatchDiscriminator({ spatialDims: dims, ndf: 4, layers: DISC_LAYERS[dims], inputChannels: 2 }), createRng(10));
      const a = images(dims, 3);
      const b = images(dims, 4);
      const compute = (): Map<string, Float32Array>[] => {
        const t = createCycleGanTrainer(nets, { splitGenerators: false });
        const r = t.generatorGradients(a, b);
        // Discriminator gradients on the detached fakes.
        const dGrads: GradientMap = new Map();
        const { grads } = tf.variableGrads(
          () => tf.add(tf.mean(tf.square(nets.discA.apply(r.fakeA))), tf.mean(tf.square(tf.sub(nets.discB.apply(b), 1)))) as tf.Scalar,
          [...nets.discA.variables(), ...nets.discB.variables()],
        );
        for (const [k, v] of Object.entries(grads)) dGrads.set(k, v);
        tf.dispose([r.fakeA, r.fakeB]);
        t.dispose();
        const p = createPix2PixTrainer({ gen, disc });
        const pr = p.generatorGradients(a, b);
        pr.fakeB.dispose();
        p.dispose();
        return [read(r.grads), read(dGrads), read(pr.grads)];
      };
      const onCpu = compute();
      await useBackend('wasm');
      const onWasm = compute();
      await useBackend('cpu');
      for (let i = 0; i < onCpu.length; i++) expect(gradientMismatch(onWasm[i], onCpu[i])).toBeLessThan(1e-4);
      tf.dispose([a, b]);
      disposeNets({ ...nets, gen, disc });
    });
  }
});

describe('training steps are leak-free on wasm with voxshift kernels', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  for (const dims of [2, 3] as const) {
    it(`${dims}-D CycleGAN (split generators) and pix2pix (U-Net): tf.memory().numTensors stable over 5 steps, finite losses`, () => {
      const nets = cycleNets(dims, 3);
      const a = images(dims, 1);
      const b = images(dims, 2);
      const cycle = createCycleGanTrainer(nets, { splitGenerators: true });
      const counts: number[] = [];
      for (let i = 0; i < 5; i++) {
        const losses = cycle.step(a, b, i);
        expect(Object.values(losses).every(Number.isFinite)).toBe(true);
        counts.push(tf.memory().numTensors);
      }
      expect(counts[4]).toBe(counts[1]);

      const gen = buildNetwork(describeUnetGenerator({ spatialDims: dims, ngf: 4, depth: 3, dropout: 0.5 }), createRng(4));
      const disc = buildNetwork(describePatchDiscriminator({ spatialDims: dims, ndf: 4, layers: DISC_LAYERS[dims], inputChannels: 2 }), createRng(5));
      const p2p = createPix2PixTrainer({ gen, disc });
      const pCounts: number[] = [];
      const l1: number[] = [];
      for (let i = 0; i < 5; i++) {
        const losses = p2p.step(a, b, i);
        expect(Object.values(losses).every(Number.isFinite)).toBe(true);
        l1.push(losses.l1);
        pCounts.push(tf.memory().numTensors);
      }
      expect(pCounts[4]).toBe(pCounts[1]);
      // Adam at lr 2e-4 on one pair: the L1 term (λ = 100) falls.
      expect(l1[4]).toBeLessThan(l1[0]);
      cycle.dispose();
      p2p.dispose();
      tf.dispose([a, b]);
      disposeNets({ ...nets, gen, disc });
    });
  }

  it('picks split generators, then recomputation, from the heap estimate; a step that cannot fit names its size', () => {
    const nets = cycleNets(2);
    const a = images(2, 1);
    const probe = createCycleGanTrainer(nets, { heapBytes: Number.MAX_SAFE_INTEGER });
    const { estimates } = probe.plan(a);
    probe.dispose();
    expect(estimates.split).toBeLessThan(estimates.joint);
    expect(estimates.splitRecompute).toBeLessThan(estimates.split);
    const budgetFor = (bytes: number): number => (bytes + tf.memory().numBytes) / 0.8;
    const plan = (heapBytes: number): unknown => {
      const t = createCycleGanTrainer(nets, { heapBytes });
      try {
        return t.plan(a);
      } finally {
        t.dispose();
      }
    };
    expect(plan(budgetFor(estimates.joint * 1.01))).toMatchObject({ splitGenerators: false, recompute: false });
    expect(plan(budgetFor((estimates.joint + estimates.split) / 2))).toMatchObject({ splitGenerators: true, recompute: false });
    expect(plan(budgetFor((estimates.split + estimates.splitRecompute) / 2))).toMatchObject({ splitGenerators: true, recompute: true });
    try {
      plan(budgetFor(estimates.splitRecompute / 2));
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'OUT_OF_MEMORY')).toBe(true);
      expect((e as Error).message).toContain('1×16×16');
    }
    a.dispose();
    disposeNets({ ...nets });
  });
});

describe('discriminator options: spectral norm, multi-scale, one-sided label smoothing', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  /** Images of `n` voxels per axis. */
  const imagesOf = (dims: Dims, n: number, seed: number, channels = 1): tf.Tensor => {
    const rng = createRng(seed);
    const shape = [1, ...Array<number>(dims).fill(n), channels];
    return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1), shape);
  };
  const lsgan = (z: ArrayLike<number>, t: number): number => Array.from(z).reduce((a, v) => a + (v - t) ** 2, 0) / z.length;

  for (const dims of [2, 3] as const) {
    // Two scales of a 1-layer PatchGAN still have outputs at 16² and 12³.
    const n = dims === 2 ? 16 : 12;
    it(`${dims}-D: spectrally normalised two-scale discriminators train leak-free (CycleGAN with recomputation, pix2pix), u/v move`, () => {
      const rng = createRng(21);
      const g = describeResnetGenerator({ spatialDims: dims, ngf: 4, blocks: 1 });
      const d = describePatchDiscriminator({ spatialDims: dims, ndf: 4, layers: 1, scales: 2, spectralNorm: true });
      const nets: CycleGanNetworks = {
        genAB: buildNetwork(g, rng, { name: 'genAB' }),
        genBA: buildNetwork(g, rng, { name: 'genBA' }),
        discA: buildNetwork(d, rng, { name: 'discA' }),
        discB: buildNetwork(d, rng, { name: 'discB' }),
      };
      const a = imagesOf(dims, n, 1);
      const b = imagesOf(dims, n, 2);
      const u = (): number[] => Array.from((nets.discB.buffers.get('scale1.layer1.conv.weight_u') as tf.Variable).dataSync());
      const u0 = u();
      const cycle = createCycleGanTrainer(nets, { splitGenerators: true, recompute: true, labelSmoothing: 0.1 });
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) {
        expect(Object.values(cycle.step(a, b, i)).every(Number.isFinite)).toBe(true);
        counts.push(tf.memory().numTensors);
      }
      expect(counts[3]).toBe(counts[1]);
      expect(u()).not.toEqual(u0);

      const gen = buildNetwork(g, createRng(4));
      const disc = buildNetwork(describePatchDiscriminator({ spatialDims: dims, ndf: 4, layers: 1, scales: 2, spectralNorm: true, inputChannels: 2 }), createRng(5));
      const p2p = createPix2PixTrainer({ gen, disc }, { labelSmoothing: 0.1, ganMode: 'vanilla' });
      const pCounts: number[] = [];
      for (let i = 0; i < 4; i++) {
        expect(Object.values(p2p.step(a, b, i)).every(Number.isFinite)).toBe(true);
        pCounts.push(tf.memory().numTensors);
      }
      expect(pCounts[3]).toBe(pCounts[1]);
      cycle.dispose();
      p2p.dispose();
      tf.dispose([a, b]);
      disposeNets({ ...nets, gen, disc });
    });
  }

  it('3-D two-scale spectrally normalised discriminator: outputs and gradients on wasm match the pure-JS backend', async () => {
    const disc = buildNetwork(describePatchDiscriminator({ spatialDims: 3, ndf: 4, layers: 1, scales: 2, spectralNorm: true }), createRng(41));
    const x = imagesOf(3, 13, 9);
    const compute = (): Map<string, Float32Array>[] => {
      const outs = new Map<string, Float32Array>();
      const { value, grads } = tf.variableGrads(() => {
        const zs = disc.applyAll(x);
        zs.forEach((z, i) => outs.set(`out${i}`, z.dataSync().slice() as Float32Array));
        return ganLoss(zs, 1) as tf.Scalar;
      }, disc.variables());
      value.dispose();
      return [outs, read(new Map(Object.entries(grads)))];
    };
    await useBackend('cpu');
    const onCpu = compute();
    await useBackend('wasm');
    const onWasm = compute();
    expect([...onCpu[0].values()].map((o) => o.length)).toEqual([4 ** 3, 1]);
    for (let i = 0; i < 2; i++) expect(gradientMismatch(onWasm[i], onCpu[i])).toBeLessThan(1e-4);
    x.dispose();
    disc.dispose();
  });

  it('the trainers use 1 − labelSmoothing as the real target and average a multi-scale discriminator over its outputs', () => {
    const rng = createRng(31);
    const g = describeResnetGenerator({ spatialDims: 2, ngf: 4, blocks: 1 });
    const d = describePatchDiscriminator({ spatialDims: 2, ndf: 4, layers: 1, scales: 2 });
    const nets: CycleGanNetworks = {
      genAB: buildNetwork(g, rng),
      genBA: buildNetwork(g, rng),
      discA: buildNetwork(d, rng),
      discB: buildNetwork(d, rng),
    };
    const [a, b, fa, fb] = [1, 2, 3, 4].map((s) => imagesOf(2, 16, s));
    const expected = (disc: Network, real: tf.Tensor, fake: tf.Tensor, s: number): number => {
      const zr = disc.applyAll(real);
      const zf = disc.applyAll(fake);
      expect(zr).toHaveLength(2);
      const v = 0.5 * ((lsgan(zr[0].dataSync(), 1 - s) + lsgan(zr[1].dataSync(), 1 - s)) / 2 + (lsgan(zf[0].dataSync(), 0) + lsgan(zf[1].dataSync(), 0)) / 2);
      tf.dispose([...zr, ...zf]);
      return v;
    };
    const wantA = expected(nets.discA, a, fa, 0.2);
    const wantB = expected(nets.discB, b, fb, 0.2);
    const cycle = createCycleGanTrainer(nets, { labelSmoothing: 0.2 });
    const got = cycle.discriminatorStep(a, b, fa, fb);
    expect(got.discA).toBeCloseTo(wantA, 5);
    expect(got.discB).toBeCloseTo(wantB, 5);
    cycle.dispose();

    const gen = buildNetwork(g, createRng(6));
    const disc = buildNetwork(describePatchDiscriminator({ spatialDims: 2, ndf: 4, layers: 1, scales: 2, inputChannels: 2 }), createRng(7));
    const fake = gen.apply(a);
    const [real2, fake2] = [tf.concat([a, b], 3), tf.concat([a, fake], 3)];
    const want = expected(disc, real2, fake2, 0.3);
    const p2p = createPix2PixTrainer({ gen, disc }, { labelSmoothing: 0.3 });
    expect(p2p.step(a, b).disc).toBeCloseTo(want, 5);
    p2p.dispose();
    for (const bad of [1, -0.5, Number.NaN]) {
      try {
        createPix2PixTrainer({ gen, disc }, { labelSmoothing: bad });
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as { param?: string }).param).toBe('labelSmoothing');
      }
    }
    tf.dispose([a, b, fa, fb, fake, real2, fake2]);
    disposeNets({ ...nets, gen, disc });
  });
});
