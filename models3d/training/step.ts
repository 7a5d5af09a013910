/**
 * CycleGAN and pix2pix training steps on explicit networks (models3d/networks), leak-free: every
 * intermediate tensor is disposed before a step returns, so tf.memory().numTensors is the same after
 * every step (the optimizers' moment variables are created once, in the first step).
 *
 * CycleGAN (Zhu et al. 2017), with genAB: A→B, genBA: B→A, discA judging domain A, discB domain B:
 *   L_G = GAN(D_B(G_AB(a)), 1) + GAN(D_A(G_BA(b)), 1)                      adversarial (LSGAN)
 *       + λ·‖G_BA(G_AB(a)) − a‖₁ + λ·‖G_AB(G_BA(b)) − b‖₁                  cycle consistency
 *       + λ·λ_idt·(‖G_AB(b) − b‖₁ + ‖G_BA(a) − a‖₁)                        identity
 *   L_D_X = ½·(GAN(D_X(real x), 1) + GAN(D_X(fake x, detached), 0))
 * Both generators are updated jointly on L_G, then both discriminators, each with Adam.
 *
 * pix2pix (Isola et al. 2017): L_G = GAN(D(a ⊕ G(a)), 1) + λ_L1·‖G(a) − b‖₁,
 *   L_D = ½·(GAN(D(a ⊕ b), 1) + GAN(D(a ⊕ G(a) detached), 0)), ⊕ = concatenation of channels.
 *
 * Options of both: `labelSmoothing` s makes the discriminators' real target 1 − s (one-sided: fakes
 * stay 0, the generators' targets stay 1). A discriminator with extra outputs (multi-scale) is judged
 * on all of them, each GAN term being the mean over its outputs (losses.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { ApplyOptions, Network } from '../networks/build-network.ts';
import { checkRate } from '../networks/validate.ts';
import { discriminatorLoss, ganLoss, l1Loss, type GanMode, type Logits } from './losses.ts';
import { Adam } from './optimizer.ts';
import { planStep, type PlanOptions, type StepPlan } from './step-plan.ts';

export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface CycleGanNetworks {
  genAB: Network;
  genBA: Network;
  discA: Network;
  discB: Network;
}

export interface CycleGanOptions extends PlanOptions {
  ganMode?: GanMode;
  /** λ of the cycle losses (10). */
  lambdaCycle?: number;
  /** Identity loss weight relative to λ (0.5); 0 skips the identity passes. */
  lambdaIdentity?: number;
  /** One-sided label smoothing: the discriminators' real target is 1 − labelSmoothing (0). */
  labelSmoothing?: number;
  adam?: AdamOptions;
}

export interface CycleGanLosses {
  /** GAN(D_B(G_AB(a)), 1) and GAN(D_A(G_BA(b)), 1). */
  advAB: number;
  advBA: number;
  cycleA: number;
  cycleB: number;
  identityA: number;
  identityB: number;
  generator: number;
  discA: number;
  discB: number;
}

export type GradientMap = Map<string, tf.Tensor>;

export interface CycleGanGeneratorResult {
  /** Gradients of L_G by variable name (the caller disposes them). */
  grads: GradientMap;
  losses: Omit<CycleGanLosses, 'discA' | 'discB'>;
  /** G_AB(a) and G_BA(b), detached (the caller disposes them). */
  fakeB: tf.Tensor;
  fakeA: tf.Tensor;
}

function makeAdam(o: AdamOptions = {}): Adam {
  return new Adam(o);
}

/** A discriminator's logits: its one output, or all of them when it has extra outputs (multi-scale). */
function judge(net: Network, x: tf.Tensor, options: ApplyOptions): Logits {
  return net.spec.extraOutputs?.length ? net.applyAll(x, options) : net.apply(x, options);
}

function checkBatch(name: string, x: tf.Tensor, net: Network): void {
  const want = net.spec.spatialDims + 2;
  if (x.rank !== want || x.shape[want - 1] !== net.spec.inputChannels) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${name} must be [batch, ${net.spec.spatialDims === 2 ? 'H, W' : 'D, H, W'}, ${net.spec.inputChannels}], got [${x.shape.join(', ')}]`, {
      param: name,
      details: { received: x.shape },
    });
  }
}

/**
 * A heap exhausted during a step (the estimate was too low) becomes OUT_OF_MEMORY naming the size;
 * the wasm backend reports it as an abort or a failed allocation.
 */
function asOutOfMemory(e: unknown, x: tf.Tensor): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof VoxshiftError || !/out of memory|\bOOM\b|Cannot enlarge memory|Aborted\(|allocation failed|Array buffer allocation/i.test(msg)) return e;
  return new VoxshiftError(
    'OUT_OF_MEMORY',
    `the ${tf.getBackend()} backend ran out of memory in a training step on ${x.shape.join('×')}; use smaller patches, a smaller batch or fewer filters, or force splitGenerators/recompute`,
    { param: 'patchSize', details: { shape: x.shape }, cause: e },
  );
}

/** Runs `f` under a gradient tape for `vars` and adds the gradients into `acc`; returns f's value. */
function accumulate(acc: GradientMap, vars: tf.Variable[], f: () => tf.Scalar): number {
  const { value, grads } = tf.variableGrads(f, vars);
  for (const [name, g] of Object.entries(grads)) {
    const prev = acc.get(name);
    if (prev) {
      acc.set(name, tf.add(prev, g));
      prev.dispose();
      g.dispose();
    } else {
      acc.set(name, g);
    }
  }
  const v = value.dataSync()[0];
  value.dispose();
  return v;
}

function disposeMap(m: GradientMap): void {
  for (const t of m.values()) t.dispose();
  m.clear();
}

/** The value of a loss term computed inside a gradient function, read after it returns. */
class Tally {
  private readonly parts = new Map<string, tf.Scalar>();
  record(name: string, t: tf.Scalar): tf.Scalar {
    this.parts.set(name, tf.keep(t.clone()));
    return t;
  }
  read(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, t] of this.parts) {
      out[k] = t.dataSync()[0];
      t.dispose();
    }
    this.parts.clear();
    return out;
  }
}

export interface CycleGanTrainer {
  readonly nets: CycleGanNetworks;
  /** The memory layout chosen for the last step's input size. */
  plan(realA: tf.Tensor): StepPlan;
  /** One full iteration: generators, then discriminators on this step's (detached) fakes. */
  step(realA: tf.Tensor, realB: tf.Tensor, seed?: number): CycleGanLosses;
  /** L_G and its gradients for both generators (no update); used by step() and by tests. */
  generatorGradients(realA: tf.Tensor, realB: tf.Tensor, seed?: number): CycleGanGeneratorResult;
  /** Updates both generators from gradients. */
  applyGeneratorGradients(grads: GradientMap): void;
  /** One discriminator update on real images and (detached, possibly pooled) fakes. */
  discriminatorStep(realA: tf.Tensor, realB: tf.Tensor, fakeA: tf.Tensor, fakeB: tf.Tensor): { discA: number; discB: number };
  readonly optimizers: { generators: Adam; discriminators: Adam };
  dispose(): void;
}

export function createCycleGanTrainer(nets: CycleGanNetworks, options: CycleGanOptions = {}): CycleGanTrainer {
  const mode = options.ganMode ?? 'lsgan';
  const lambda = options.lambdaCycle ?? 10;
  const lambdaIdt = options.lambdaIdentity ?? 0.5;
  const smoothing = checkRate('labelSmoothing', options.labelSmoothing ?? 0);
  const optG = makeAdam(options.adam);
  const optD = makeAdam(options.adam);
  const genVars = [...nets.genAB.variables(), ...nets.genBA.variables()];
  const plans = new Map<string, StepPlan>();

  const plan = (realA: tf.Tensor): StepPlan => {
    const key = realA.shape.join('x');
    let p = plans.get(key);
    if (!p) {
      const paramCount = [nets.genAB, nets.genBA, nets.discA, nets.discB].reduce((s, n) => s + n.variables().reduce((a, v) => a + v.size, 0), 0);
      const idtPasses = lambdaIdt > 0 ? 2 : 0;
      p = planStep(
        nets.genAB.spec,
        nets.discB.spec,
        realA.shape.slice(1, -1),
        realA.shape[0],
        { joint: { gen: 4 + idtPasses, disc: 2 }, split: { gen: 2, disc: 1 } },
        paramCount,
        options,
      );
      plans.set(key, p);
    }
    return p;
  };

  const generatorGradients = (realA: tf.Tensor, realB: tf.Tensor, seed = 0): CycleGanGeneratorResult => {
    checkBatch('realA', realA, nets.genAB);
    checkBatch('realB', realB, nets.genBA);
    const p = plan(realA);
    const apply = (net: Network, x: tf.Tensor, s: number): tf.Tensor => net.apply(x, { training: true, seed: seed * 8 + s, recompute: p.recompute });
    const tally = new Tally();
    const grads: GradientMap = new Map();
    const kept: { fakeA?: tf.Tensor; fakeB?: tf.Tensor } = {};
    // Each part of L_G; with splitGenerators each runs under its own tape.
    const cycleA = (): tf.Scalar => {
      const fakeB = apply(nets.genAB, realA, 0);
      kept.fakeB = tf.keep(fakeB.clone());
      const adv = tally.record('advAB', ganLoss(judge(nets.discB, fakeB, { training: true, recompute: p.recompute }), 1, mode));
      const cyc = tally.record('cycleA', tf.mul(l1Loss(apply(nets.genBA, fakeB, 1), realA), lambda) as tf.Scalar);
      return tf.add(adv, cyc) as tf.Scalar;
    };
    const cycleB = (): tf.Scalar => {
      const fakeA = apply(nets.genBA, realB, 2);
      kept.fakeA = tf.keep(fakeA.clone());
      const adv = tally.record('advBA', ganLoss(judge(nets.discA, fakeA, { training: true, recompute: p.recompute }), 1, mode));
      const cyc = tally.record('cycleB', tf.mul(l1Loss(apply(nets.genAB, fakeA, 3), realB), lambda) as tf.Scalar);
      return tf.add(adv, cyc) as tf.Scalar;
    };
    // Identity: G_AB should leave a B image unchanged (and G_BA an A image).
    const identityB = (): tf.Scalar =>
      tally.record('identityB', tf.mul(l1Loss(apply(nets.genAB, realB, 4), realB), lambda * lambdaIdt) as tf.Scalar);
    const identityA = (): tf.Scalar =>
      tally.record('identityA', tf.mul(l1Loss(apply(nets.genBA, realA, 5), realA), lambda * lambdaIdt) as tf.Scalar);
    const parts = lambdaIdt > 0 ? [cycleA, cycleB, identityB, identityA] : [cycleA, cycleB];
    let total = 0;
    try {
      if (p.splitGenerators) {
        for (const part of parts) total += accumulate(grads, genVars, part);
      } else {
        total = accumulate(grads, genVars, () => parts.map((f) => f()).reduce((a, b) => tf.add(a, b) as tf.Scalar));
      }
    } catch (e) {
      disposeMap(grads);
      kept.fakeA?.dispose();
      kept.fakeB?.dispose();
      tally.read();
      throw e;
    }
    const t = tally.read();
    return {
      grads,
      fakeA: kept.fakeA as tf.Tensor,
      fakeB: kept.fakeB as tf.Tensor,
      losses: {
        advAB: t.advAB,
        advBA: t.advBA,
        cycleA: t.cycleA,
        cycleB: t.cycleB,
        identityA: t.identityA ?? 0,
        identityB: t.identityB ?? 0,
        generator: total,
      },
    };
  };

  const applyGeneratorGradients = (grads: GradientMap): void => {
    optG.applyGradients(grads);
  };

  const discriminatorStep = (realA: tf.Tensor, realB: tf.Tensor, fakeA: tf.Tensor, fakeB: tf.Tensor): { discA: number; discB: number } => {
    const grads: GradientMap = new Map();
    try {
      // One tape per discriminator: they share nothing, so splitting costs nothing.
      const discA = accumulate(grads, nets.discA.variables(), () =>
        discriminatorLoss(judge(nets.discA, realA, { training: true }), judge(nets.discA, fakeA, { training: true }), mode, smoothing),
      );
      const discB = accumulate(grads, nets.discB.variables(), () =>
        discriminatorLoss(judge(nets.discB, realB, { training: true }), judge(nets.discB, fakeB, { training: true }), mode, smoothing),
      );
      optD.applyGradients(grads);
      return { discA, discB };
    } finally {
      disposeMap(grads);
    }
  };

  return {
    nets,
    plan,
    generatorGradients,
    applyGeneratorGradients,
    discriminatorStep,
    optimizers: { generators: optG, discriminators: optD },
    step(realA, realB, seed = 0) {
      let g: CycleGanGeneratorResult;
      try {
        g = generatorGradients(realA, realB, seed);
      } catch (e) {
        throw asOutOfMemory(e, realA);
      }
      try {
        applyGeneratorGradients(g.grads);
        const d = discriminatorStep(realA, realB, g.fakeA, g.fakeB);
        return { ...g.losses, ...d };
      } catch (e) {
        throw asOutOfMemory(e, realA);
      } finally {
        disposeMap(g.grads);
        g.fakeA.dispose();
        g.fakeB.dispose();
      }
    },
    dispose() {
      optG.dispose();
      optD.dispose();
    },
  };
}

export interface Pix2PixNetworks {
  gen: Network;
  /** Judges input ⊕ output, so its inputChannels = gen input + output channels. */
  disc: Network;
}

export interface Pix2PixOptions extends PlanOptions {
  ganMode?: GanMode;
  /** λ of the L1 term (100). */
  lambdaL1?: number;
  /** One-sided label smoothing: the discriminator's real target is 1 − labelSmoothing (0). */
  labelSmoothing?: number;
  adam?: AdamOptions;
}

export interface Pix2PixLosses {
  adv: number;
  l1: number;
  generator: number;
  disc: number;
}

export interface Pix2PixTrainer {
  readonly nets: Pix2PixNetworks;
  plan(realA: tf.Tensor): StepPlan;
  step(realA: tf.Tensor, realB: tf.Tensor, seed?: number): Pix2PixLosses;
  generatorGradients(realA: tf.Tensor, realB: tf.Tensor, seed?: number): { grads: GradientMap; losses: Omit<Pix2PixLosses, 'disc'>; fakeB: tf.Tensor };
  readonly optimizers: { generator: Adam; discriminator: Adam };
  dispose(): void;
}

export function createPix2PixTrainer(nets: Pix2PixNetworks, options: Pix2PixOptions = {}): Pix2PixTrainer {
  const mode = options.ganMode ?? 'lsgan';
  const lambdaL1 = options.lambdaL1 ?? 100;
  const smoothing = checkRate('labelSmoothing', options.labelSmoothing ?? 0);
  const optG = makeAdam(options.adam);
  const optD = makeAdam(options.adam);
  const want = nets.gen.spec.inputChannels + nets.gen.spec.outputChannels;
  if (nets.disc.spec.inputChannels !== want) {
    throw new VoxshiftError('INVALID_ARGUMENT', `the pix2pix discriminator must take ${want} channels (input ⊕ output), got ${nets.disc.spec.inputChannels}`, {
      param: 'disc',
    });
  }
  const plans = new Map<string, StepPlan>();
  const plan = (realA: tf.Tensor): StepPlan => {
    const key = realA.shape.join('x');
    let p = plans.get(key);
    if (!p) {
      const paramCount = [nets.gen, nets.disc].reduce((s, n) => s + n.variables().reduce((a, v) => a + v.size, 0), 0);
      // One generator pass and one discriminator pass; there is nothing to split.
      p = planStep(nets.gen.spec, nets.disc.spec, realA.shape.slice(1, -1), realA.shape[0], { joint: { gen: 1, disc: 1 }, split: { gen: 1, disc: 1 } }, paramCount, {
        ...options,
        splitGenerators: false,
      });
      plans.set(key, p);
    }
    return p;
  };
  const channelAxis = nets.gen.spec.spatialDims + 1;

  const generatorGradients = (realA: tf.Tensor, realB: tf.Tensor, seed = 0): { grads: GradientMap; losses: Omit<Pix2PixLosses, 'disc'>; fakeB: tf.Tensor } => {
    checkBatch('realA', realA, nets.gen);
    const p = plan(realA);
    const tally = new Tally();
    const grads: GradientMap = new Map();
    let fakeB: tf.Tensor | undefined;
    try {
      const generator = accumulate(grads, nets.gen.variables(), () => {
        const fake = nets.gen.apply(realA, { training: true, seed, recompute: p.recompute });
        fakeB = tf.keep(fake.clone());
        const adv = tally.record('adv', ganLoss(judge(nets.disc, tf.concat([realA, fake], channelAxis), { training: true, recompute: p.recompute }), 1, mode));
        const l1 = tally.record('l1', tf.mul(l1Loss(fake, realB), lambdaL1) as tf.Scalar);
        return tf.add(adv, l1) as tf.Scalar;
      });
      const t = tally.read();
      return { grads, fakeB: fakeB as tf.Tensor, losses: { adv: t.adv, l1: t.l1, generator } };
    } catch (e) {
      disposeMap(grads);
      fakeB?.dispose();
      tally.read();
      throw e;
    }
  };

  return {
    nets,
    plan,
    generatorGradients,
    optimizers: { generator: optG, discriminator: optD },
    step(realA, realB, seed = 0) {
      let g: ReturnType<typeof generatorGradients>;
      try {
        g = generatorGradients(realA, realB, seed);
      } catch (e) {
        throw asOutOfMemory(e, realA);
      }
      const dGrads: GradientMap = new Map();
      try {
        optG.applyGradients(g.grads);
        const disc = accumulate(dGrads, nets.disc.variables(), () =>
          discriminatorLoss(
            judge(nets.disc, tf.concat([realA, realB], channelAxis), { training: true }),
            judge(nets.disc, tf.concat([realA, g.fakeB], channelAxis), { training: true }),
            mode,
            smoothing,
          ),
        );
        optD.applyGradients(dGrads);
        return { ...g.losses, disc };
      } catch (e) {
        throw asOutOfMemory(e, realA);
      } finally {
        disposeMap(g.grads);
        disposeMap(dGrads);
        g.fakeB.dispose();
      }
    },
    dispose() {
      optG.dispose();
      optD.dispose();
    },
  };
}
