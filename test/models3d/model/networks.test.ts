/**
 * The networks of a model by role: the same builders give 2D and 3D networks (output shapes on a real
 * forward pass), and each role's initial weights come from its own seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { resolveModelConfig, type ModelConfig } from '../../../models3d/model/config.ts';
import { buildModelNetworks, describeModelNetworks, generatorRole, isGenerator, sizeMultipleOf, type NetworkRole } from '../../../models3d/model/networks.ts';
import type { Network } from '../../../models3d/networks/build-network.ts';
import { thrown } from '../data/fixtures.ts';
import { useBackend } from '../training/training-backend.ts';

type Dims = 2 | 3;
const SIZE: Record<Dims, number> = { 2: 16, 3: 8 };

function tinyConfig(kind: ModelConfig['kind'], dims: Dims, seed = 7): ModelConfig {
  return resolveModelConfig({
    kind,
    spatialDims: dims,
    generator: kind === 'pix2pix' ? { type: 'unet', ngf: 4, depth: 2 } : { ngf: 4, blocks: 1 },
    discriminator: { ndf: 4, layers: dims === 2 ? 2 : 1 },
    data: { patchSize: Array<number>(dims).fill(SIZE[dims]) },
    seed,
  });
}

function weights(net: Network): Float32Array[] {
  return [...net.params.values()].map((v) => v.dataSync() as Float32Array);
}

function disposeAll(nets: Map<NetworkRole, Network>): void {
  for (const n of nets.values()) n.dispose();
}

beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(async () => {
  await useBackend('cpu');
});

describe('describeModelNetworks', () => {
  it('CycleGAN has two generators (one spec) and two one-channel discriminators; Pix2Pix one of each, D judging input ⊕ output', () => {
    const cyc = describeModelNetworks(tinyConfig('cyclegan', 2));
    expect([...cyc.keys()]).toEqual(['genAB', 'genBA', 'discA', 'discB']);
    expect(cyc.get('genAB')).toEqual(cyc.get('genBA'));
    expect(cyc.get('genAB')?.kind).toBe('resnet-generator');
    expect(cyc.get('discA')?.inputChannels).toBe(1);
    expect(cyc.get('discB')?.inputChannels).toBe(1);
    const p2p = describeModelNetworks(tinyConfig('pix2pix', 2));
    expect([...p2p.keys()]).toEqual(['gen', 'disc']);
    expect(p2p.get('gen')?.kind).toBe('unet-generator');
    expect(p2p.get('disc')?.inputChannels).toBe(2);
    expect(sizeMultipleOf(cyc)).toBe(4);
    expect(sizeMultipleOf(p2p)).toBe(4);
    expect(sizeMultipleOf(describeModelNetworks(resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, generator: { type: 'unet', depth: 3 }, data: { patchSize: [32, 32] } })))).toBe(8);
  });

  it('generatorRole: A→B for both kinds, B→A only for CycleGAN', () => {
    expect(generatorRole('cyclegan', 'AtoB')).toBe('genAB');
    expect(generatorRole('cyclegan', 'BtoA')).toBe('genBA');
    expect(generatorRole('pix2pix', 'AtoB')).toBe('gen');
    const e = thrown(() => generatorRole('pix2pix', 'BtoA'));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.param).toBe('direction');
    expect(isGenerator('genBA')).toBe(true);
    expect(isGenerator('disc')).toBe(false);
  });

  for (const kind of ['cyclegan', 'pix2pix'] as const) {
    it(`${kind}: the same description builds 2D and 3D networks with the expected output shapes`, () => {
      const before = tf.memory().numTensors;
      for (const dims of [2, 3] as const) {
        const config = tinyConfig(kind, dims);
        const specs = describeModelNetworks(config);
        for (const spec of specs.values()) expect(spec.spatialDims).toBe(dims);
        const nets = buildModelNetworks(specs, config.seed);
        try {
          const n = SIZE[dims];
          const spatial = Array<number>(dims).fill(n);
          const x = tf.randomUniform([1, ...spatial, 1], -1, 1, 'float32', 3);
          const gen = nets.get(kind === 'pix2pix' ? 'gen' : 'genAB') as Network;
          const y = gen.apply(x);
          // The generator keeps the grid and ends in tanh.
          expect(y.shape).toEqual([1, ...spatial, 1]);
          const yv = y.dataSync();
          expect(Math.max(...Array.from(yv, Math.abs))).toBeLessThanOrEqual(1);
          // PatchGAN: conv 4/2 per layer0 and the stride-2 layers, then two conv 4/1 (−1 each).
          const discInput = kind === 'pix2pix' ? tf.concat([x, y], -1) : y;
          const disc = nets.get(kind === 'pix2pix' ? 'disc' : 'discB') as Network;
          const d = disc.apply(discInput);
          const layers = config.discriminator.layers;
          const patches = n / 2 ** layers - 2;
          expect(d.shape).toEqual([1, ...Array<number>(dims).fill(patches), 1]);
          tf.dispose([x, y, discInput, d]);
        } finally {
          disposeAll(nets);
        }
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('buildModelNetworks seeds', () => {
  it('same seed → same weights; roles differ from each other; another seed differs', () => {
    const config = tinyConfig('cyclegan', 2);
    const specs = describeModelNetworks(config);
    const a = buildModelNetworks(specs, 7);
    const b = buildModelNetworks(specs, 7);
    const c = buildModelNetworks(specs, 8);
    try {
      for (const role of specs.keys()) {
        expect(weights(a.get(role) as Network)).toEqual(weights(b.get(role) as Network));
        expect(weights(a.get(role) as Network)[0]).not.toEqual(weights(c.get(role) as Network)[0]);
      }
      // genAB and genBA share a spec but not their initial weights (nor do the discriminators).
      expect(weights(a.get('genAB') as Network)[0]).not.toEqual(weights(a.get('genBA') as Network)[0]);
      expect(weights(a.get('discA') as Network)[0]).not.toEqual(weights(a.get('discB') as Network)[0]);
      // N(0, 0.02) conv weights.
      const w = weights(a.get('genAB') as Network)[0];
      const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
      expect(std).toBeGreaterThan(0.015);
      expect(std).toBeLessThan(0.025);
    } finally {
      for (const m of [a, b, c]) disposeAll(m);
    }
  });

  it("a role's weights do not depend on which other roles are built", () => {
    const specs = describeModelNetworks(tinyConfig('cyclegan', 3));
    const all = buildModelNetworks(specs, 11);
    const only = buildModelNetworks(new Map([['genBA', specs.get('genBA')!]]), 11);
    try {
      expect(weights(only.get('genBA') as Network)).toEqual(weights(all.get('genBA') as Network));
    } finally {
      disposeAll(all);
      disposeAll(only);
    }
  });

  it('trainable: false builds non-trainable variables', () => {
    const nets = buildModelNetworks(describeModelNetworks(tinyConfig('pix2pix', 2)), 1, { trainable: false });
    try {
      for (const n of nets.values()) for (const v of n.params.values()) expect(v.trainable).toBe(false);
    } finally {
      disposeAll(nets);
    }
  });
});
