/**
 * The ONNX exporter against the tfjs networks it is built from: ResNet and U-Net generators (with
 * dropout, which is identity at inference), 2-D and 3-D, weights N(0, 0.2) and non-zero biases, on
 * random inputs and on a normalised phantom MR, run on onnxruntime-node: max |ONNX − tfjs| ≤ 1e-4.
 * Also a multi-scale spectral-norm discriminator (every other node kind), multi-channel generators
 * through the channels-last wrapper, the graph's declared opset/shapes, and the weight transposition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import onnxProto from 'onnx-proto';
import { prepareDomainVolume } from '../../../models3d/data/domain-volume.ts';
import { phantomSet } from '../../../models3d/data/phantom-data.ts';
import { exportOnnx, ONNX_OPSET, transposeArray } from '../../../models3d/export/onnx-export.ts';
import { createOnnxGenerator, loadOnnxRuntime } from '../../../models3d/inference/onnx-runtime.ts';
import { resolveModelConfig } from '../../../models3d/model/config.ts';
import { buildNetwork, type Network } from '../../../models3d/networks/build-network.ts';
import { describePatchDiscriminator } from '../../../models3d/networks/patch-discriminator.ts';
import { describeResnetGenerator } from '../../../models3d/networks/resnet-generator.ts';
import { createRng } from '../../../models3d/networks/rng.ts';
import type { NetworkSpec } from '../../../models3d/networks/spec.ts';
import { describeUnetGenerator } from '../../../models3d/networks/unet-generator.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { useBackend } from '../training/training-backend.ts';

const { onnx } = onnxProto;
const TOLERANCE = 1e-4;

/** Phantom MR normalised as in training, [z, y, x] = [16, 32, 32]. */
const phantom = prepareDomainVolume(
  phantomSet({ count: 1, shape: [32, 32, 16], seed: 31 }).a[0],
  resolveModelConfig({ kind: 'cyclegan', spatialDims: 2 }).domains.a.normalization,
  'mr',
).data;

/** A built network with weights N(0, 0.2) and biases N(0, 0.2), so no error can hide under the default init. */
function randomNetwork(spec: NetworkSpec, seed: number): Network {
  const net = buildNetwork(spec, createRng(seed), { trainable: false });
  tf.tidy(() => {
    for (const v of net.variables()) v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', seed + v.size));
  });
  return net;
}

function values(net: Network): Map<string, Float32Array> {
  return new Map([...net.params, ...net.buffers].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function uniform(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** tfjs output and ONNX outputs of `net` on `x` (channels last), transposed convs as phases (the default) and native. */
async function both(net: Network, x: Float32Array, shape: number[]): Promise<{ tfjs: Float32Array; onnx: Float32Array; native: Float32Array }> {
  const expected = tf.tidy(() => net.apply(tf.tensor(x, shape)).dataSync() as Float32Array);
  const out: Float32Array[] = [];
  for (const options of [{}, { transposedConv: 'native' as const }]) {
    const session = await createOnnxGenerator(exportOnnx(net.spec, values(net), options), { threads: 1 });
    try {
      out.push(await session.run(x, shape));
    } finally {
      await session.release();
    }
  }
  return { tfjs: expected, onnx: out[0], native: out[1] };
}

beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(async () => {
  await useBackend('cpu');
});

const GENERATORS: { name: string; spec: (dims: 2 | 3) => NetworkSpec }[] = [
  { name: 'ResNet (2 blocks, dropout 0.5)', spec: (dims) => describeResnetGenerator({ spatialDims: dims, ngf: 4, blocks: 2, dropout: 0.5 }) },
  { name: 'U-Net (depth 3, dropout on the inner levels)', spec: (dims) => describeUnetGenerator({ spatialDims: dims, ngf: 2, depth: 3 }) },
];

describe('ONNX export = tfjs network (max abs ≤ 1e-4)', () => {
  for (const g of GENERATORS) {
    for (const dims of [2, 3] as const) {
      it(`${g.name}, ${dims}-D: random inputs (batch 2) and a phantom MR`, async () => {
        const before = tf.memory().numTensors;
        const net = randomNetwork(g.spec(dims), dims * 10 + 1);
        try {
          const randomShape = dims === 2 ? [2, 24, 16, 1] : [2, 8, 16, 8, 1];
          const r = await both(net, uniform(randomShape.reduce((a, b) => a * b, 1), 7), randomShape);
          // Guard against a trivially constant output (e.g. tanh saturated everywhere).
          expect(Math.max(...r.tfjs) - Math.min(...r.tfjs)).toBeGreaterThan(0.1);
          expect(maxAbsDiff(r.onnx, r.tfjs)).toBeLessThanOrEqual(TOLERANCE);
          expect(maxAbsDiff(r.native, r.tfjs)).toBeLessThanOrEqual(TOLERANCE);

          // The phantom: 2-D as a batch of 4 axial slices, 3-D as one 16×32×32 volume.
          const phantomShape = dims === 2 ? [4, 32, 32, 1] : [1, 16, 32, 32, 1];
          const p = await both(net, phantom.subarray(dims === 2 ? 6 * 32 * 32 : 0, (dims === 2 ? 10 : 16) * 32 * 32), phantomShape);
          expect(Math.max(...p.tfjs) - Math.min(...p.tfjs)).toBeGreaterThan(0.1);
          expect(maxAbsDiff(p.onnx, p.tfjs)).toBeLessThanOrEqual(TOLERANCE);
          expect(maxAbsDiff(p.native, p.tfjs)).toBeLessThanOrEqual(TOLERANCE);
        } finally {
          net.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }

  it('2 → 3 channels: the wrapper transposes channels last ↔ first', async () => {
    const net = randomNetwork(describeResnetGenerator({ spatialDims: 2, inputChannels: 2, outputChannels: 3, ngf: 4, blocks: 1 }), 5);
    try {
      const shape = [1, 8, 12, 2];
      const r = await both(net, uniform(96 * 2, 3), shape);
      expect(r.onnx.length).toBe(96 * 3);
      expect(maxAbsDiff(r.onnx, r.tfjs)).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      net.dispose();
    }
  });

  for (const dims of [2, 3] as const) {
    it(`${dims}-D multi-scale PatchGAN with spectral norm: every output (avgPool, leakyRelu, W/σ)`, async () => {
      const spec = describePatchDiscriminator({ spatialDims: dims, ndf: 4, layers: 2, scales: 2, spectralNorm: true });
      const net = randomNetwork(spec, 9);
      try {
        const side = dims === 2 ? 32 : 24;
        const shape = [1, ...Array<number>(dims).fill(side), 1];
        const x = uniform(side ** dims, 4);
        const expected = tf.tidy(() => net.applyAll(tf.tensor(x, shape)).map((t) => t.dataSync() as Float32Array));
        const ort = await loadOnnxRuntime();
        const session = await ort.InferenceSession.create(exportOnnx(spec, values(net)));
        try {
          expect(session.outputNames).toEqual(['output', ...(spec.extraOutputs ?? [])]);
          const out = await session.run({ input: new ort.Tensor('float32', x, [1, 1, ...Array<number>(dims).fill(side)]) });
          expect(expected).toHaveLength(2);
          session.outputNames.forEach((name, i) => {
            // One output channel: NCHW and NHWC hold the same values in the same order.
            expect(maxAbsDiff(out[name].data as Float32Array, expected[i])).toBeLessThanOrEqual(TOLERANCE);
          });
        } finally {
          await session.release();
        }
      } finally {
        net.dispose();
      }
    });
  }
});

describe('the exported graph', () => {
  it('records the opset and producer, a dynamic batch and spatial size, the spec in metadata, no dropout node', () => {
    const spec = describeResnetGenerator({ spatialDims: 3, ngf: 2, blocks: 1, dropout: 0.5 });
    const net = randomNetwork(spec, 2);
    try {
      const model = onnx.ModelProto.decode(exportOnnx(spec, values(net), { transposedConv: 'native' }));
      expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET]]);
      expect(model.producerName).toBe('voxshift');
      const graph = model.graph as InstanceType<typeof onnx.GraphProto>;
      const dim = (v: onnxProto.onnx.IValueInfoProto) => v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue)) ?? [];
      expect(dim(graph.input[0])).toEqual(['batch', 1, 'depth', 'height', 'width']);
      expect(graph.input[0].name).toBe('input');
      expect(graph.output.map((o) => o.name)).toEqual(['output']);
      expect(dim(graph.output[0])).toEqual(['batch', 1, 'depth', 'height', 'width']);
      const ops = graph.node.map((n) => n.opType);
      expect(ops).not.toContain('Dropout');
      expect(new Set(ops)).toEqual(new Set(['Pad', 'Conv', 'InstanceNormalization', 'Relu', 'Add', 'ConvTranspose', 'Tanh']));
      const pad = graph.node.find((n) => n.opType === 'Pad');
      expect(new TextDecoder().decode(pad?.attribute?.find((a) => a.name === 'mode')?.s as Uint8Array)).toBe('reflect');
      const up = graph.node.find((n) => n.opType === 'ConvTranspose');
      expect(up?.attribute?.find((a) => a.name === 'output_padding')?.ints?.map(Number)).toEqual([1, 1, 1]);
      // Conv weights are [out, in, ...kernel]; a bias before a non-affine instance norm is left out.
      const stem = graph.initializer.find((t) => t.name === 'stem.conv.weight');
      expect(stem?.dims?.map(Number)).toEqual([2, 1, 7, 7, 7]);
      expect(graph.initializer.some((t) => t.name === 'stem.conv.bias')).toBe(false);
      expect(graph.initializer.some((t) => t.name === 'head.conv.bias')).toBe(true);
      const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
      expect(meta['voxshift.kind']).toBe('resnet-generator');
      expect(meta['voxshift.layout']).toBe('NCDHW');
      expect(JSON.parse(meta['voxshift.config'] as string)).toMatchObject({ ngf: 2, blocks: 1 });
    } finally {
      net.dispose();
    }
  });

  it('by default a stride-2 transposed conv is 2^dims phase convs interleaved (no ConvTranspose)', () => {
    const spec = describeUnetGenerator({ spatialDims: 3, ngf: 2, depth: 2 });
    const net = randomNetwork(spec, 3);
    try {
      const graph = onnx.ModelProto.decode(exportOnnx(spec, values(net))).graph as InstanceType<typeof onnx.GraphProto>;
      const ops = graph.node.map((n) => n.opType);
      expect(ops).not.toContain('ConvTranspose');
      // Two transposed convs, 8 phases each: kernel 4, stride 2, padding 1 → 2 taps per axis per phase.
      const phases = graph.node.filter((n) => n.opType === 'Conv' && /\.phase\d{3}$/.test(n.name ?? ''));
      expect(phases).toHaveLength(16);
      for (const p of phases) expect(p.attribute?.find((a) => a.name === 'kernel_shape')?.ints?.map(Number)).toEqual([2, 2, 2]);
      expect(ops.filter((o) => o === 'Reshape')).toHaveLength(2);
    } finally {
      net.dispose();
    }
  });

  it('a missing parameter is an INVALID_ARGUMENT naming it', () => {
    const spec = describeUnetGenerator({ spatialDims: 2, ngf: 2, depth: 2 });
    const net = randomNetwork(spec, 1);
    try {
      const partial = values(net);
      partial.delete('level1.down.conv.weight');
      let error: unknown;
      try {
        exportOnnx(spec, partial);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VoxshiftError);
      expect((error as VoxshiftError).code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
      expect((error as VoxshiftError).message).toMatch(/level1\.down\.conv\.weight/);
    } finally {
      net.dispose();
    }
  });
});

describe('transposeArray', () => {
  it('[2, 3, 4] with perm [2, 0, 1] matches the index formula', () => {
    const src = Float32Array.from({ length: 24 }, (_, i) => i);
    const out = transposeArray(src, [2, 3, 4], [2, 0, 1]);
    for (let c = 0; c < 4; c++) for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) expect(out[(c * 2 + a) * 3 + b]).toBe(src[(a * 3 + b) * 4 + c]);
  });
});
