/**
 * Checkpoints: a save → load round trip reproduces the generators bit for bit (2D and 3D); damaged,
 * foreign and mismatched folders are refused with CORRUPT_CHECKPOINT / INCOMPATIBLE_CHECKPOINT; an
 * inference checkpoint cannot resume; saving over a checkpoint replaces it without leftovers.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejected } from '../../helpers/rejected.ts';
import * as tf from '@tensorflow/tfjs-core';
import {
  CHECKPOINT_FORMAT,
  loadCheckpoint,
  loadTrainingState,
  readManifest,
  saveCheckpoint,
  type CheckpointContent,
  type CheckpointManifest,
} from '../../../models3d/checkpoint/checkpoint.ts';
import { describeModelNetworks, isGenerator, type NetworkRole } from '../../../models3d/model/networks.ts';
import type { Network } from '../../../models3d/networks/build-network.ts';
import { Adam } from '../../../models3d/training/optimizer.ts';
import { useBackend } from '../training/training-backend.ts';
import { fixedInput, tinyConfig, tinyContent, type Dims } from '../training/tiny-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-ckpt-'));

beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

function disposeContent(c: { networks: Map<NetworkRole, Network> }): void {
  for (const n of c.networks.values()) n.dispose();
}

function generatorOutput(net: Network, x: tf.Tensor): Float32Array {
  const y = net.apply(x);
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

function editManifest(dir: string, edit: (m: CheckpointManifest) => void): void {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as CheckpointManifest;
  edit(m);
  writeFileSync(path, JSON.stringify(m));
}

let counter = 0;
/** A fresh folder holding a saved tiny Pix2Pix checkpoint. */
async function savedPix2Pix(options: { training?: boolean } = {}): Promise<string> {
  const dir = join(tmp, `p2p-${++counter}`);
  const content = tinyContent(tinyConfig('pix2pix', 2));
  try {
    await saveCheckpoint(dir, content, options.training ? { training: { optimizers: {}, pools: {} } } : {});
  } finally {
    disposeContent(content);
  }
  return dir;
}

describe('save → load', () => {
  for (const [kind, dims] of [
    ['pix2pix', 2],
    ['cyclegan', 3],
    ['cyclegan', 2],
  ] as const) {
    it(`${kind} ${dims}D: the loaded generators give bitwise the same output; metadata comes back`, async () => {
      const before = tf.memory().numTensors;
      const config = tinyConfig(kind, dims as Dims);
      const content = tinyContent(config);
      const dir = join(tmp, `roundtrip-${kind}-${dims}`);
      const x = fixedInput(config);
      try {
        const manifest = await saveCheckpoint(dir, content);
        expect(manifest.format).toBe(CHECKPOINT_FORMAT);
        expect(manifest.training).toBeUndefined();
        const loaded = await loadCheckpoint(dir);
        try {
          expect(loaded.config).toEqual(config);
          expect(loaded.step).toBe(content.step);
          expect(loaded.normalization).toEqual(content.normalization);
          expect(loaded.spacing).toEqual(content.spacing);
          expect(loaded.notes).toEqual({ test: true });
          expect([...loaded.networks.keys()].sort()).toEqual([...content.networks.keys()].sort());
          for (const [role, net] of content.networks) {
            const other = loaded.networks.get(role) as Network;
            expect(other.spec).toEqual(net.spec);
            for (const [param, v] of net.params) expect(other.params.get(param)?.dataSync()).toEqual(v.dataSync());
            if (isGenerator(role)) {
              const a = generatorOutput(net, x);
              const b = generatorOutput(other, x);
              expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
            }
          }
        } finally {
          disposeContent(loaded);
        }
      } finally {
        disposeContent(content);
        x.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('an inference checkpoint keeps only the roles asked for, and loading picks roles', async () => {
    const content = tinyContent(tinyConfig('cyclegan', 2));
    const dir = join(tmp, 'gens-only');
    try {
      const m = await saveCheckpoint(dir, content, { roles: ['genAB', 'genBA'] });
      expect(Object.keys(m.networks).sort()).toEqual(['genAB', 'genBA']);
      const one = await loadCheckpoint(dir, { roles: ['genBA'], trainable: false });
      expect([...one.networks.keys()]).toEqual(['genBA']);
      expect([...(one.networks.get('genBA') as Network).params.values()].every((v) => !v.trainable)).toBe(true);
      disposeContent(one);
      const e = await rejected(loadCheckpoint(dir, { roles: ['discA'] }));
      expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
      expect(e.message).toMatch(/no discA network/);
    } finally {
      disposeContent(content);
    }
  });
});

describe('damaged checkpoints: CORRUPT_CHECKPOINT', () => {
  it('a truncated weights.bin', async () => {
    const dir = await savedPix2Pix();
    const path = join(dir, 'weights.bin');
    truncateSync(path, readFileSync(path).length - 8);
    const e = await rejected(loadCheckpoint(dir));
    expect(e.code).toBe('VOXSHIFT_E_CORRUPT_CHECKPOINT');
    expect(e.message).toMatch(/truncated/);
  });

  it('one modified byte (same length): the checksum catches it', async () => {
    const dir = await savedPix2Pix();
    const path = join(dir, 'weights.bin');
    const buf = readFileSync(path);
    buf[Math.floor(buf.length / 2)] ^= 0x01;
    writeFileSync(path, buf);
    const e = await rejected(loadCheckpoint(dir));
    expect(e.code).toBe('VOXSHIFT_E_CORRUPT_CHECKPOINT');
    expect(e.message).toMatch(/checksum/);
  });

  it('a missing weights.bin, and a manifest that is not JSON', async () => {
    const dir = await savedPix2Pix();
    rmSync(join(dir, 'weights.bin'));
    expect((await rejected(loadCheckpoint(dir))).code).toBe('VOXSHIFT_E_CORRUPT_CHECKPOINT');
    const dir2 = await savedPix2Pix();
    writeFileSync(join(dir2, 'manifest.json'), '{"format": "voxshift-checkpoint/1", ');
    expect((await rejected(loadCheckpoint(dir2))).code).toBe('VOXSHIFT_E_CORRUPT_CHECKPOINT');
  });
});

describe('foreign or mismatched checkpoints: INCOMPATIBLE_CHECKPOINT', () => {
  it('another format string', async () => {
    const dir = await savedPix2Pix();
    editManifest(dir, (m) => {
      (m as { format: string }).format = 'voxshift-checkpoint/2';
    });
    const e = await rejected(loadCheckpoint(dir));
    expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
    expect(e.message).toContain('voxshift-checkpoint/2');
  });

  it('a TensorFlow.js model folder (model.json, no manifest)', async () => {
    const dir = join(tmp, 'tfjs-model');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] }));
    writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.alloc(16));
    const e = await rejected(loadCheckpoint(dir));
    expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
    expect(e.message).toMatch(/manifest\.json/);
    expect(e.file).toBe(dir);
  });

  it('a manifest.json of something else (no format)', async () => {
    const dir = join(tmp, 'other-json');
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ name: 'some package', version: '1.0.0' }));
    expect((await rejected(readManifest(dir))).code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
  });

  it('a folder that does not exist is FILE_NOT_FOUND', async () => {
    expect((await rejected(loadCheckpoint(join(tmp, 'nowhere')))).code).toBe('VOXSHIFT_E_FILE_NOT_FOUND');
  });

  it('network specs whose parameter shapes differ from the stored weights', async () => {
    const dir = await savedPix2Pix();
    // The same U-Net with twice the filters: same parameter names, other shapes.
    const wider = describeModelNetworks(tinyConfig('pix2pix', 2, { generator: { type: 'unet', ngf: 8, depth: 2 } })).get('gen');
    editManifest(dir, (m) => {
      m.networks.gen = wider;
    });
    const before = tf.memory().numTensors;
    const e = await rejected(loadCheckpoint(dir));
    expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
    expect(e.message).toMatch(/gen\/.* have shape \[.*\], the network needs \[/);
    // The networks built before the error are disposed.
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a network that does not belong to the model kind', async () => {
    const dir = await savedPix2Pix();
    editManifest(dir, (m) => {
      m.networks.genBA = m.networks.gen;
    });
    const e = await rejected(readManifest(dir));
    expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
    expect(e.message).toContain('genBA');
  });
});

describe('training state', () => {
  it('an inference checkpoint refuses loadTrainingState with a clear error', async () => {
    const dir = await savedPix2Pix();
    const loaded = await loadCheckpoint(dir);
    try {
      const e = await rejected(loadTrainingState(dir, loaded.manifest, loaded.networks, {}));
      expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
      expect(e.message).toMatch(/no training state.*inference/);
    } finally {
      disposeContent(loaded);
    }
  });

  it('optimizer moments, step counts and pools come back into live objects', async () => {
    const before = tf.memory().numTensors;
    const config = tinyConfig('pix2pix', 2);
    const content = tinyContent(config);
    const gen = content.networks.get('gen') as Network;
    const opt = new Adam();
    // Two updates with made-up gradients give non-trivial moments.
    for (let s = 0; s < 2; s++) {
      const grads = new Map([...gen.params.values()].map((v, i) => [v.name, tf.fill(v.shape, 0.01 * (i + 1 + s))] as [string, tf.Tensor]));
      opt.applyGradients(grads);
      for (const g of grads.values()) g.dispose();
    }
    const pool = { itemShape: [1, 16, 16, 1], items: [new Float32Array(256).fill(0.25), new Float32Array(256).fill(-0.5)] };
    const dir = join(tmp, 'with-state');
    try {
      const m = await saveCheckpoint(dir, content, { training: { optimizers: { generator: opt }, pools: { b: pool } } });
      expect(m.training?.optimizerSteps).toEqual({ generator: 2 });
      expect(m.training?.pools).toEqual({ b: { itemShape: [1, 16, 16, 1], count: 2 } });
      const loaded = await loadCheckpoint(dir);
      const restored = new Adam();
      try {
        const pools = await loadTrainingState(dir, loaded.manifest, loaded.networks, { generator: restored });
        expect(restored.step).toBe(2);
        expect(pools).toEqual({ b: pool });
        const orig = opt.getState().moments;
        const back = restored.getState().moments;
        const lgen = loaded.networks.get('gen') as Network;
        expect(back.size).toBe(orig.size);
        for (const [param, v] of gen.params) {
          const a = orig.get(v.name);
          const b = back.get((lgen.params.get(param) as tf.Variable).name);
          expect(b?.m.dataSync()).toEqual(a?.m.dataSync());
          expect(b?.v.dataSync()).toEqual(a?.v.dataSync());
        }
        const e = await rejected(loadTrainingState(dir, loaded.manifest, loaded.networks, { discriminator: new Adam() }));
        expect(e.code).toBe('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
      } finally {
        restored.dispose();
        disposeContent(loaded);
      }
    } finally {
      opt.dispose();
      disposeContent(content);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('saving over a checkpoint', () => {
  it('replaces it and leaves no partial or old folders behind', async () => {
    const parent = join(tmp, 'replace');
    const dir = join(parent, 'checkpoint');
    const first = tinyContent(tinyConfig('pix2pix', 2));
    const second = tinyContent(tinyConfig('pix2pix', 2, { seed: 9 }));
    try {
      await saveCheckpoint(dir, first);
      writeFileSync(join(dir, 'stale.txt'), 'from an older save');
      await saveCheckpoint(dir, { ...second, step: 8 });
      expect(readdirSync(parent)).toEqual(['checkpoint']);
      expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'weights.bin']);
      const loaded = await loadCheckpoint(dir);
      try {
        expect(loaded.step).toBe(8);
        expect(loaded.config.seed).toBe(9);
        const w = (second.networks.get('gen') as Network).params.values().next().value as tf.Variable;
        expect((loaded.networks.get('gen') as Network).params.values().next().value?.dataSync()).toEqual(w.dataSync());
      } finally {
        disposeContent(loaded);
      }
    } finally {
      disposeContent(first);
      disposeContent(second);
    }
  });

  it('a save that fails while writing keeps the previous checkpoint intact and cleans up', async () => {
    const parent = join(tmp, 'failing');
    const dir = join(parent, 'checkpoint');
    const content = tinyContent(tinyConfig('pix2pix', 2));
    const stranger = tf.variable(tf.zeros([2]), true, 'not-a-network-variable');
    const opt = new Adam();
    try {
      await saveCheckpoint(dir, content);
      const weights = readFileSync(join(dir, 'weights.bin'));
      const g = tf.ones([2]);
      opt.applyGradients(new Map([[stranger.name, g]]));
      g.dispose();
      const broken: CheckpointContent = { ...content, step: 99 };
      // The optimizer holds a variable of no saved network: the save fails halfway through.
      const e = await rejected(saveCheckpoint(dir, broken, { training: { optimizers: { generator: opt }, pools: {} } }));
      expect(e.code).toBe('VOXSHIFT_E_INTERNAL');
      expect(readdirSync(parent)).toEqual(['checkpoint']);
      expect(readFileSync(join(dir, 'weights.bin')).equals(weights)).toBe(true);
      expect((await readManifest(dir)).step).toBe(content.step);
    } finally {
      opt.dispose();
      stranger.dispose();
      disposeContent(content);
    }
  });
});

describe('spectral-norm buffers', () => {
  it('the u/v buffers of a spectrally normalised discriminator survive save → load', async () => {
    const config = tinyConfig('pix2pix', 2, { discriminator: { ndf: 4, layers: 1, spectralNorm: true } });
    const content = tinyContent(config);
    const disc = content.networks.get('disc') as Network;
    expect(disc.buffers.size).toBeGreaterThan(0);
    // Move u away from its initial value, as training does.
    for (const b of disc.buffers.values()) b.assign(tf.tidy(() => tf.mul(b, -1)));
    const dir = join(tmp, 'sn');
    await saveCheckpoint(dir, content);
    const loaded = await loadCheckpoint(dir);
    const back = loaded.networks.get('disc') as Network;
    for (const [name, b] of disc.buffers) expect(Array.from(back.buffers.get(name)?.dataSync() ?? [])).toEqual(Array.from(b.dataSync()));
    disposeContent(loaded);
    disposeContent(content);
  });
});
