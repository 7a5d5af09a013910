/**
 * Label encoding for label → image Pix2Pix: class validation, rank/transport values, one-hot shapes
 * (tfjs on wasm and buffers), prepareDomainVolume with a labels spec, config rules, and errors naming
 * the value and voxel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDomainVolume } from '../../../models3d/data/domain-volume.ts';
import { encodeLabelMap, encodedValue, labelRanks, oneHotBuffer, oneHotFromEncoded, validateLabelClasses } from '../../../models3d/data/label-encoding.ts';
import { resolveModelConfig } from '../../../models3d/model/config.ts';
import { describeModelNetworks } from '../../../models3d/model/networks.ts';
import { createVolume } from '../../../volumes/volume.ts';
import { useBackend } from '../training/training-backend.ts';

const spec = { type: 'labels' as const, classes: [0, 2, 5] };
const labels = createVolume({ data: Uint8Array.from([0, 2, 5, 5, 0, 2]), shape: [3, 2, 1], kind: 'label', spacing: [1, 2, 3] });

beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(async () => {
  await useBackend('cpu');
});

describe('label encoding', () => {
  it('validates classes', () => {
    expect(validateLabelClasses([0, 3, 7])).toEqual([0, 3, 7]);
    for (const bad of [[0], [1, 0], [0, 0, 1], [0, 1.5], 'x', Array.from({ length: 257 }, (_, i) => i)]) {
      expect(() => validateLabelClasses(bad)).toThrow(/2 to 256 integer label values in strictly ascending order/);
    }
  });

  it('ranks and transport values', () => {
    expect(Array.from(labelRanks(labels, spec, 'L'))).toEqual([0, 1, 2, 2, 0, 1]);
    expect(Array.from(encodeLabelMap(labels, spec, 'L'))).toEqual([-1, 0, 1, 1, -1, 0]);
    expect(encodedValue(3, 10)).toBeCloseTo(-1 / 3, 6);
  });

  it('one-hot: [..., 1] → [..., K] on tfjs and on buffers, no leaked tensors', () => {
    const enc = encodeLabelMap(labels, spec, 'L');
    const before = tf.memory().numTensors;
    const x = tf.tensor(enc, [1, 2, 3, 1]);
    const h = oneHotFromEncoded(x, 3);
    expect(h.shape).toEqual([1, 2, 3, 3]);
    expect(h.dtype).toBe('float32');
    const expected = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0];
    expect(Array.from(h.dataSync())).toEqual(expected);
    expect(Array.from(oneHotBuffer(enc, 3))).toEqual(expected);
    x.dispose();
    h.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('errors name the value and the voxel', () => {
    const odd = createVolume({ data: Float32Array.from([0, 2, 3, 5, 0, 2]), shape: [3, 2, 1] });
    expect(() => labelRanks(odd, spec, 'odd.nii')).toThrow(/odd\.nii: label value 3 \(voxel \[2, 0, 0\]\) is not one of the model's classes 0, 2, 5/);
    const frac = createVolume({ data: Float32Array.from([0, 2, 0.5, 5, 0, 2]), shape: [3, 2, 1] });
    expect(() => labelRanks(frac, spec, 'f')).toThrow(/f: voxel \[2, 0, 0\] is 0\.5, not an integer/);
  });

  it('prepareDomainVolume takes a label map under a labels spec', () => {
    const d = prepareDomainVolume(labels, spec, 'L');
    expect(Array.from(d.data)).toEqual([-1, 0, 1, 1, -1, 0]);
    expect(Array.from(d.foreground)).toEqual([0, 1, 1, 1, 0, 1]);
    expect(d.normalization).toEqual({ type: 'ct-window', lower: 0, upper: 2 });
    expect(d.shape).toEqual([3, 2, 1]);
  });

  it('config: labels only as a Pix2Pix source; generator K channels, discriminator K + 1', () => {
    const base = { kind: 'pix2pix' as const, spatialDims: 2 as const, generator: { type: 'unet' as const, ngf: 4, depth: 2 }, discriminator: { ndf: 4, layers: 2 }, data: { patchSize: [16, 16] } };
    const c = resolveModelConfig({ ...base, domains: { a: { normalization: spec } } });
    expect(c.domains.a).toEqual({ name: 'labels', modality: 'SEG', normalization: spec });
    const nets = describeModelNetworks(c);
    expect(nets.get('gen')?.inputChannels).toBe(3);
    expect(nets.get('disc')?.inputChannels).toBe(4);
    expect(() => resolveModelConfig({ ...base, domains: { b: { normalization: spec } } })).toThrow(/domains\.b\.normalization\.type/);
    expect(() => resolveModelConfig({ ...base, kind: 'cyclegan', generator: { ngf: 4, blocks: 1 }, domains: { a: { normalization: spec } } })).toThrow(/needs kind 'pix2pix'/);
    expect(() => resolveModelConfig({ ...base, domains: { a: { normalization: { type: 'labels', classes: [3, 1] } } } })).toThrow(/domains\.a\.normalization\.classes/);
  });
});
