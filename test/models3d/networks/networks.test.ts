import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildNetwork } from '../../../models3d/networks/build-network.ts';
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
