/** resolveModelConfig: the papers' defaults, and one INVALID_ARGUMENT naming the field for each bad field. */
import { describe, expect, it } from 'vitest';
import { describeModelNetworks } from '../../../models3d/model/networks.ts';
import { resolveModelConfig, totalSteps, type ModelConfigInput } from '../../../models3d/model/config.ts';
import { DEFAULT_CT_WINDOW } from '../../../volumes/normalize.ts';
import { thrown } from '../data/fixtures.ts';

describe('resolveModelConfig defaults', () => {
  it('CycleGAN: LSGAN, λ_cycle 10, identity 0.5, Adam 2e-4 / β1 0.5, pool 50, ResNet generator', () => {
    const c = resolveModelConfig({ kind: 'cyclegan', spatialDims: 2 });
    expect(c.loss).toEqual({ ganMode: 'lsgan', lambdaCycle: 10, lambdaIdentity: 0.5, lambdaL1: 100, labelSmoothing: 0 });
    expect(c.optimizer.learningRate).toBe(2e-4);
    expect(c.optimizer.beta1).toBe(0.5);
    expect(c.optimizer.beta2).toBe(0.999);
    expect(c.data.poolSize).toBe(50);
    expect(c.generator).toEqual({ type: 'resnet', ngf: 32, blocks: 6, dropout: 0 });
    expect(c.discriminator).toEqual({ ndf: 32, layers: 3, scales: 1, spectralNorm: false });
    expect(c.data).toMatchObject({ axis: 2, patchSize: [64, 64], batchSize: 1, flip: false });
    expect(c.seed).toBe(0);
    expect(totalSteps(c)).toBe(2000);
  });

  it('Pix2Pix: L1 weight 100, no pool, U-Net with dropout 0.5', () => {
    const c = resolveModelConfig({ kind: 'pix2pix', spatialDims: 2 });
    expect(c.loss.lambdaL1).toBe(100);
    expect(c.loss.ganMode).toBe('lsgan');
    expect(c.data.poolSize).toBe(0);
    expect(c.generator).toEqual({ type: 'unet', ngf: 32, depth: 6, dropout: 0.5 });
  });

  it('3D: patches of three sizes, shallower U-Net', () => {
    const c = resolveModelConfig({ kind: 'pix2pix', spatialDims: 3 });
    expect(c.data.patchSize).toEqual([32, 32, 32]);
    expect(c.generator).toMatchObject({ type: 'unet', depth: 4 });
  });

  it('domains default to MR → CT with the CT window and MR percentiles; a given modality names the domain', () => {
    const c = resolveModelConfig({ kind: 'cyclegan', spatialDims: 2 });
    expect(c.domains.a).toEqual({ name: 'MR', modality: 'MR', normalization: { type: 'mr-percentile', p: [0.5, 99.5] } });
    expect(c.domains.b).toEqual({ name: 'CT', modality: 'CT', normalization: DEFAULT_CT_WINDOW });
    const pt = resolveModelConfig({ kind: 'cyclegan', spatialDims: 2, domains: { a: { modality: 'PT' } } });
    expect(pt.domains.a.name).toBe('PT');
    expect(pt.domains.a.normalization.type).toBe('mr-percentile');
  });

  it('given groups are merged over the defaults and copied (the input is not shared)', () => {
    const patchSize = [32, 32];
    const c = resolveModelConfig({ kind: 'cyclegan', spatialDims: 2, loss: { lambdaCycle: 5 }, data: { patchSize } });
    expect(c.loss).toEqual({ ganMode: 'lsgan', lambdaCycle: 5, lambdaIdentity: 0.5, lambdaL1: 100, labelSmoothing: 0 });
    expect(c.data.patchSize).toEqual([32, 32]);
    patchSize[0] = 8;
    expect(c.data.patchSize).toEqual([32, 32]);
    // Plain JSON: survives the manifest round trip unchanged.
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
  });
});

describe('resolveModelConfig rejects each invalid field by name', () => {
  const base: ModelConfigInput = { kind: 'cyclegan', spatialDims: 2 };
  const cases: [string, ModelConfigInput][] = [
    ['kind', { ...base, kind: 'unit' as 'cyclegan' }],
    ['spatialDims', { ...base, spatialDims: 4 as 2 }],
    ['domains.a.modality', { ...base, domains: { a: { modality: 'XR' as 'CT' } } }],
    ['domains.b.name', { ...base, domains: { b: { name: '' } } }],
    ['domains.b.normalization', { ...base, domains: { b: { normalization: { type: 'ct-window', lower: 100, upper: 100 } } } }],
    ['domains.a.normalization.p', { ...base, domains: { a: { normalization: { type: 'mr-percentile', p: [90, 10] } } } }],
    ['domains.a.normalization.type', { ...base, domains: { a: { normalization: { type: 'z-score' } as unknown as { type: 'mr-percentile' } } } }],
    ['generator.type', { ...base, generator: { type: 'vit' as 'unet' } }],
    ['generator.ngf', { ...base, generator: { ngf: 0 } }],
    ['generator.blocks', { ...base, generator: { blocks: 2.5 } }],
    ['generator.depth', { ...base, generator: { type: 'unet', depth: 1 } }],
    ['generator.dropout', { ...base, generator: { dropout: 1 } }],
    ['discriminator.ndf', { ...base, discriminator: { ndf: -4 } }],
    ['discriminator.layers', { ...base, discriminator: { layers: 7 } }],
    ['loss.ganMode', { ...base, loss: { ganMode: 'wgan' as 'lsgan' } }],
    ['loss.lambdaCycle', { ...base, loss: { lambdaCycle: Number.NaN } }],
    ['loss.lambdaIdentity', { ...base, loss: { lambdaIdentity: -0.5 } }],
    ['loss.lambdaL1', { ...base, loss: { lambdaL1: Number.POSITIVE_INFINITY } }],
    ['optimizer.learningRate', { ...base, optimizer: { learningRate: 0 } }],
    ['optimizer.beta1', { ...base, optimizer: { beta1: 1 } }],
    ['optimizer.beta2', { ...base, optimizer: { beta2: 1.5 } }],
    ['optimizer.constantSteps', { ...base, optimizer: { constantSteps: -1 } }],
    ['optimizer.decaySteps', { ...base, optimizer: { decaySteps: 0.5 } }],
    ['optimizer.constantSteps + decaySteps', { ...base, optimizer: { constantSteps: 0, decaySteps: 0 } }],
    ['data.axis', { ...base, data: { axis: 3 as 2 } }],
    ['data.patchSize', { ...base, data: { patchSize: [32, 32, 32] } }],
    ['data.patchSize[1]', { ...base, data: { patchSize: [32, 0] } }],
    ['data.batchSize', { ...base, data: { batchSize: 0 } }],
    ['data.flip', { ...base, data: { flip: 'yes' as unknown as boolean } }],
    ['data.foregroundProb', { ...base, data: { foregroundProb: 1.5 } }],
    ['data.poolSize', { ...base, data: { poolSize: -1 } }],
    ['seed', { ...base, seed: 2 ** 32 }],
  ];
  for (const [field, input] of cases) {
    it(field, () => {
      const e = thrown(() => resolveModelConfig(input));
      expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
      expect(e.param).toBe(field);
      expect(e.message).toContain(field);
    });
  }

  it('a patch the generator cannot downsample evenly names data.patchSize and the multiple', () => {
    const e = thrown(() => resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, generator: { type: 'unet', depth: 3 }, data: { patchSize: [20, 24] } }));
    expect(e.param).toBe('data.patchSize');
    expect(e.message).toContain('multiples of 8');
  });

  it('a patch too small for the PatchGAN names data.patchSize and the minimum', () => {
    const e = thrown(() => resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, generator: { type: 'unet', depth: 3 }, discriminator: { layers: 3 }, data: { patchSize: [16, 16] } }));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.param).toBe('data.patchSize');
    expect(e.message).toContain('at least 24');
    // The same patch with a shallower PatchGAN is fine.
    expect(resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, generator: { type: 'unet', depth: 3 }, discriminator: { layers: 2 }, data: { patchSize: [16, 16] } }).data.patchSize).toEqual([16, 16]);
  });

  it('the tiny 3D test model (8³ patches, one PatchGAN layer) is accepted', () => {
    const c = resolveModelConfig({ kind: 'cyclegan', spatialDims: 3, generator: { ngf: 4, blocks: 1 }, discriminator: { ndf: 4, layers: 1 }, data: { patchSize: [8, 8, 8] } });
    expect(c.spatialDims).toBe(3);
  });
});

describe('discriminator options', () => {
  it('multi-scale and spectral-norm discriminators reach the networks; label smoothing is bounded', () => {
    const c = resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, discriminator: { scales: 2, spectralNorm: true }, loss: { labelSmoothing: 0.1 }, data: { patchSize: [64, 64] } });
    const disc = describeModelNetworks(c).get('disc');
    expect(disc?.extraOutputs?.length).toBe(1);
    expect(disc?.nodes.some((n) => n.op === 'conv' && n.spectralNorm === true)).toBe(true);
    expect(c.loss.labelSmoothing).toBe(0.1);
    expect(() => resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, loss: { labelSmoothing: 0.9 } })).toThrow(/loss.labelSmoothing/);
    expect(() => resolveModelConfig({ kind: 'pix2pix', spatialDims: 2, discriminator: { scales: 9 } })).toThrow(/discriminator.scales/);
  });
});
