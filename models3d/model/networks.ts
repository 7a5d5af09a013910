/**
 * The networks of a model, described from its config (pure JSON specs) and built with seeded weights.
 * CycleGAN: genAB (A→B), genBA (B→A), discA (judges A), discB (judges B). Pix2Pix: gen (A→B) and disc
 * (judges input ⊕ output). Each role draws its initial weights from its own seed, so adding a role
 * never changes another's weights.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { buildNetwork, type Network } from '../networks/build-network.ts';
import { describePatchDiscriminator } from '../networks/patch-discriminator.ts';
import { describeResnetGenerator } from '../networks/resnet-generator.ts';
import { createRng } from '../networks/rng.ts';
import type { NetworkSpec } from '../networks/spec.ts';
import { describeUnetGenerator } from '../networks/unet-generator.ts';
import { labelClassCount } from '../data/label-encoding.ts';
import type { ModelConfig } from './config.ts';

export type CycleGanRole = 'genAB' | 'genBA' | 'discA' | 'discB';
export type Pix2PixRole = 'gen' | 'disc';
export type NetworkRole = CycleGanRole | Pix2PixRole;

export const ROLES: Record<ModelConfig['kind'], readonly NetworkRole[]> = {
  cyclegan: ['genAB', 'genBA', 'discA', 'discB'],
  pix2pix: ['gen', 'disc'],
};

/** The generator that translates in a direction: A→B for both kinds, B→A only for CycleGAN. */
export function generatorRole(kind: ModelConfig['kind'], direction: 'AtoB' | 'BtoA'): NetworkRole {
  if (kind === 'pix2pix') {
    if (direction === 'BtoA') {
      throw new VoxshiftError('INVALID_ARGUMENT', 'a Pix2Pix model translates only A→B (it has no B→A generator); use direction AtoB or a CycleGAN model', {
        param: 'direction',
      });
    }
    return 'gen';
  }
  return direction === 'AtoB' ? 'genAB' : 'genBA';
}

export function isGenerator(role: NetworkRole): boolean {
  return role.startsWith('gen');
}

/** Channels of the generator's input: 1, or K (one-hot) for a label-map source (data/label-encoding.ts). */
export function generatorInputChannels(config: ModelConfig): number {
  return labelClassCount(config.domains.a.normalization) ?? 1;
}

function generatorSpec(config: ModelConfig): NetworkSpec {
  const g = config.generator;
  const inputChannels = generatorInputChannels(config);
  return g.type === 'resnet'
    ? describeResnetGenerator({ spatialDims: config.spatialDims, inputChannels, ngf: g.ngf, blocks: g.blocks, dropout: g.dropout })
    : describeUnetGenerator({ spatialDims: config.spatialDims, inputChannels, ngf: g.ngf, depth: g.depth, dropout: g.dropout });
}

/** The specs of every network of the model, by role. */
export function describeModelNetworks(config: ModelConfig): Map<NetworkRole, NetworkSpec> {
  const gen = generatorSpec(config);
  const disc = (inputChannels: number): NetworkSpec =>
    describePatchDiscriminator({
      spatialDims: config.spatialDims,
      inputChannels,
      ndf: config.discriminator.ndf,
      layers: config.discriminator.layers,
      scales: config.discriminator.scales ?? 1,
      spectralNorm: config.discriminator.spectralNorm ?? false,
    });
  if (config.kind === 'pix2pix') {
    return new Map<NetworkRole, NetworkSpec>([
      ['gen', gen],
      ['disc', disc(generatorInputChannels(config) + 1)],
    ]);
  }
  return new Map<NetworkRole, NetworkSpec>([
    ['genAB', gen],
    ['genBA', gen],
    ['discA', disc(1)],
    ['discB', disc(1)],
  ]);
}

/** Builds networks from specs with weights N(0, 0.02) drawn from the model seed and the role. */
export function buildModelNetworks(specs: Map<NetworkRole, NetworkSpec>, seed: number, options: { trainable?: boolean } = {}): Map<NetworkRole, Network> {
  const all: NetworkRole[] = ['genAB', 'genBA', 'discA', 'discB', 'gen', 'disc'];
  const out = new Map<NetworkRole, Network>();
  try {
    for (const [role, spec] of specs) {
      const rng = createRng((Math.imul(seed >>> 0, 0x9e3779b1) ^ (all.indexOf(role) + 1) * 0x85ebca6b) >>> 0);
      out.set(role, buildNetwork(spec, rng, { name: role, trainable: options.trainable ?? true }));
    }
  } catch (e) {
    for (const n of out.values()) n.dispose();
    throw e;
  }
  return out;
}

/** The smallest spatial multiple every generator input must have. */
export function sizeMultipleOf(specs: Map<NetworkRole, NetworkSpec>): number {
  return Math.max(...[...specs].filter(([r]) => isGenerator(r)).map(([, s]) => s.sizeMultiple));
}
