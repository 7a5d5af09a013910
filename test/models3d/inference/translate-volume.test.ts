import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { networkGenerator, translateVolume } from '../../../models3d/inference/translate-volume.ts';
import type { TranslateVolumeOptions } from '../../../models3d/inference/translate-volume.ts';
import { buildNetwork } from '../../../models3d/networks/build-network.ts';
import { describeResnetGenerator } from '../../../models3d/networks/resnet-generator.ts';
import { createRng } from '../../../models3d/networks/rng.ts';
import { fitNormalization } from '../../../volumes/normalize.ts';
import { generatePhantom } from '../../../volumes/phantom/generate-phantom.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { useBackend } from '../training/training-backend.ts';
import { ctVolume, identity, identityOptions } from './inference-helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

async function rejection(p: Promise<unknown>): Promise<{ code?: string; param?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; param?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('translateVolume: result volume', () => {
  it('lies on the source grid in target units, with a JSON-only history entry; the source is untouched', async () => {
    const src = createVolume({ ...ctVolume([10, 8, 6]), modality: 'MR', meta: { units: 'arbitrary', source: '/data/t1.nii.gz', warnings: [{ code: 'W', message: 'w' }] } });
    const copy = src.data.slice();
    const out = await translateVolume(src, identity, { ...identityOptions(2), targetModality: 'CT', targetUnits: 'HU', onProgress: () => {}, signal: new AbortController().signal });
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(out.shape).toEqual(src.shape);
    expect(out.spacing).toEqual(src.spacing);
    expect(out.origin).toEqual(src.origin);
    expect(out.direction).toEqual(src.direction);
    expect(out.kind).toBe('intensity');
    expect(out.modality).toBe('CT');
    expect(out.meta.units).toBe('HU');
    expect(out.meta.source).toBe('/data/t1.nii.gz');
    expect(out.meta.warnings).toEqual(src.meta.warnings);
    expect(out.history.length).toBe(src.history.length + 1);
    const entry = out.history.at(-1);
    expect(entry).toEqual(JSON.parse(JSON.stringify(entry)));
    expect(entry).toMatchObject({
      op: 'translate',
      params: { spatialDims: 2, axis: 2, sourceModality: 'MR', targetModality: 'CT', targetUnits: 'HU', sourceNormalization: { type: 'ct-window' } },
    });
    expect(src.data).toEqual(copy);
    expect(src.modality).toBe('MR');

    const out3 = await translateVolume(src, identity, identityOptions(3, { patchSize: [4, 8, 8], overlap: 0.25 }));
    expect(out3.history.at(-1)?.params).toMatchObject({ spatialDims: 3, patchSize: [4, 8, 8], overlap: 0.25, blending: 'gaussian' });
  });
});

describe('translateVolume: validation', () => {
  const vol = ctVolume([8, 8, 8]);
  const cases: [string, () => Promise<unknown>, string, string][] = [
    ['label volume', () => translateVolume(createVolume({ data: new Uint8Array(8), shape: [2, 2, 2], kind: 'label' }), identity, identityOptions(2)), 'INVALID_ARGUMENT', 'volume'],
    ['two channels', () => translateVolume(createVolume({ data: new Float32Array(16), shape: [2, 2, 2], channels: 2 }), identity, identityOptions(2)), 'INVALID_ARGUMENT', 'volume'],
    ['patch not a multiple', () => translateVolume(vol, identity, identityOptions(3, { patchSize: [8, 6, 8] })), 'INVALID_ARGUMENT', 'patchSize'],
    ['patch of 2 numbers', () => translateVolume(vol, identity, identityOptions(3, { patchSize: [8, 8] })), 'INVALID_ARGUMENT', 'patchSize'],
    ['overlap 1', () => translateVolume(vol, identity, identityOptions(3, { overlap: 1 })), 'INVALID_ARGUMENT', 'overlap'],
    ['overlap −0.1', () => translateVolume(vol, identity, identityOptions(3, { overlap: -0.1 })), 'INVALID_ARGUMENT', 'overlap'],
    ['batchSize 0', () => translateVolume(vol, identity, identityOptions(2, { batchSize: 0 })), 'INVALID_ARGUMENT', 'batchSize'],
    ['axis 3', () => translateVolume(vol, identity, identityOptions(2, { axis: 3 as 0 })), 'INVALID_ARGUMENT', 'axis'],
    ['spatialDims 4', () => translateVolume(vol, identity, { ...identityOptions(2), spatialDims: 4 as 2 }), 'INVALID_ARGUMENT', 'spatialDims'],
    ['sizeMultiple 0', () => translateVolume(vol, identity, { ...identityOptions(2), sizeMultiple: 0 }), 'INVALID_ARGUMENT', 'sizeMultiple'],
    ['padValue NaN', () => translateVolume(vol, identity, identityOptions(2, { padValue: NaN })), 'INVALID_ARGUMENT', 'padValue'],
    [
      'bad target normalization',
      () => translateVolume(vol, identity, { ...identityOptions(2), targetNormalization: { type: 'ct-window', lower: 10, upper: 0 } }),
      'INVALID_ARGUMENT',
      'targetNormalization',
    ],
    ['generator not a function', () => translateVolume(vol, 'g' as unknown as typeof identity, identityOptions(2)), 'INVALID_ARGUMENT', 'generator'],
  ];
  for (const [name, run, code, param] of cases) {
    it(`${name} → ${code} naming ${param}`, async () => {
      const e = await rejection(run());
      expect(e.code).toBe(`VOXSHIFT_E_${code}`);
      expect(e.param).toBe(param);
    });
  }

  it('a NaN voxel is rejected naming the volume and the voxel, before the generator runs', async () => {
    const data = ctVolume([5, 4, 3]).data.slice();
    data[5 + 2 * 5 * 4] = NaN; // voxel [0, 1, 2]
    let calls = 0;
    const e = await rejection(
      translateVolume(createVolume({ data, shape: [5, 4, 3] }), (x) => (calls++, x.clone()), identityOptions(3)),
    );
    expect(e).toMatchObject({ code: 'VOXSHIFT_E_NON_FINITE_VALUES', param: 'volume' });
    expect(e.message).toContain('[0, 1, 2]');
    expect(calls).toBe(0);
  });
});

describe('translateVolume: generator failures and cancellation leak no tensor', () => {
  const vol = ctVolume([8, 8, 6]);
  const options: TranslateVolumeOptions = identityOptions(2, { batchSize: 2 });

  it('a generator that throws mid-way', async () => {
    const before = tf.memory().numTensors;
    let calls = 0;
    const e = await rejection(
      translateVolume(
        vol,
        (x) => {
          tf.add(x, 1); // an intermediate the tidy must free
          if (++calls === 2) throw new Error('boom');
          return x.clone();
        },
        options,
      ),
    );
    expect(e.message).toBe('boom');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a generator returning the wrong shape or NaN', async () => {
    const before = tf.memory().numTensors;
    const shape = await rejection(translateVolume(vol, (x) => tf.concat([x, x], 3), options));
    expect(shape).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'generator' });
    expect(shape.message).toContain('[2, 8, 8, 2]');
    const nan = await rejection(translateVolume(vol, (x) => tf.div(x, tf.zerosLike(x)), options));
    expect(nan).toMatchObject({ code: 'VOXSHIFT_E_NON_FINITE_VALUES', param: 'generator' });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an aborted signal stops 2-D translation between batches with CANCELLED', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let calls = 0;
    const e = await rejection(
      translateVolume(
        vol,
        (x) => {
          calls++;
          return x.clone();
        },
        { ...options, signal: controller.signal, onProgress: (done) => done === 4 && controller.abort() },
      ),
    );
    expect(e).toMatchObject({ code: 'VOXSHIFT_E_CANCELLED', param: 'signal' });
    expect(calls).toBe(2);
    expect(tf.memory().numTensors).toBe(before);

    const already = new AbortController();
    already.abort();
    const e2 = await rejection(translateVolume(vol, identity, { ...options, signal: already.signal }));
    expect(e2.code).toBe('VOXSHIFT_E_CANCELLED');
  });
});

describe('translateVolume with a ResNet generator (ngf 4, 1 block)', () => {
  let t1: Volume;
  beforeAll(() => {
    t1 = generatePhantom({ region: 'head', seed: 3, shape: [22, 18, 10] }).t1;
  });

  for (const dims of [2, 3] as const) {
    it(`${dims}-D: MR phantom → CT-shaped volume with finite values, no tensor left behind`, async () => {
      const net = buildNetwork(describeResnetGenerator({ spatialDims: dims, ngf: 4, blocks: 1 }), createRng(7));
      try {
        const { generator, spatialDims, sizeMultiple } = networkGenerator(net);
        expect([spatialDims, sizeMultiple]).toEqual([dims, 4]);
        const before = tf.memory().numTensors;
        const out = await translateVolume(t1, generator, {
          spatialDims,
          sizeMultiple,
          sourceNormalization: fitNormalization(t1, { type: 'mr-percentile' }),
          targetNormalization: { type: 'ct-window', lower: -1024, upper: 3000 },
          targetModality: 'CT',
          targetUnits: 'HU',
          patchSize: [8, 12, 12],
          axis: 2,
        });
        expect(tf.memory().numTensors).toBe(before);
        expect(out.shape).toEqual(t1.shape);
        expect(out.modality).toBe('CT');
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of out.data) {
          expect(Number.isFinite(v)).toBe(true);
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        // tanh output inside [−1, 1] → inside the CT window; a random network is not constant.
        expect(lo).toBeGreaterThanOrEqual(-1024);
        expect(hi).toBeLessThanOrEqual(3000);
        expect(hi).toBeGreaterThan(lo);
      } finally {
        net.dispose();
      }
    });
  }

  it('networkGenerator refuses a network without one output channel', () => {
    const d = buildNetwork(describeResnetGenerator({ spatialDims: 2, ngf: 2, blocks: 0, outputChannels: 2 }), createRng(1));
    try {
      expect(() => networkGenerator(d)).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'network' }));
    } finally {
      d.dispose();
    }
  });
});
