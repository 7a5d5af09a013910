/**
 * ONNX exports in checkpoint folders: saveCheckpoint writes `<role>.onnx` for an inference checkpoint
 * (generators only) and not for a training one; exportCheckpointToOnnx adds them to an existing folder
 * (manifest updated, weights untouched, still loadable); a damaged or stale export is recognised.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejected } from '../../helpers/rejected.ts';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, readManifest, saveCheckpoint, type CheckpointContent } from '../../../models3d/checkpoint/checkpoint.ts';
import { exportCheckpointToOnnx, findOnnxExport, hasOnnxExport } from '../../../models3d/export/export-checkpoint.ts';
import { ONNX_OPSET } from '../../../models3d/export/onnx-export.ts';
import { createOnnxGenerator } from '../../../models3d/inference/onnx-runtime.ts';
import type { Network } from '../../../models3d/networks/build-network.ts';
import { useBackend } from '../training/training-backend.ts';
import { fixedInput, tinyConfig, tinyContent } from '../training/tiny-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-onnx-ckpt-'));
const contents: CheckpointContent[] = [];

function content(kind: 'cyclegan' | 'pix2pix', dims: 2 | 3): CheckpointContent {
  const c = tinyContent(tinyConfig(kind, dims));
  contents.push(c);
  return c;
}

beforeAll(async () => {
  await useBackend('wasm');
});
afterAll(async () => {
  for (const c of contents) for (const n of c.networks.values()) n.dispose();
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

describe('saveCheckpoint and ONNX', () => {
  it('an inference checkpoint (generators only) gets genAB.onnx and genBA.onnx, indexed in the manifest', async () => {
    const dir = join(tmp, 'inference');
    const c = content('cyclegan', 2);
    const m = await saveCheckpoint(dir, c, { roles: ['genAB', 'genBA'] });
    expect(m.onnx?.opset).toBe(ONNX_OPSET);
    expect(m.onnx?.layout).toBe('NCHW');
    expect(m.onnx?.weightsSha256).toBe(m.weights.sha256);
    expect(Object.keys(m.onnx?.files ?? {}).sort()).toEqual(['genAB', 'genBA']);
    for (const role of ['genAB', 'genBA'] as const) {
      expect(existsSync(join(dir, `${role}.onnx`))).toBe(true);
      const found = await findOnnxExport(dir, await readManifest(dir), role);
      expect(found.ok).toBe(true);
    }
    // The export computes what the saved network computes.
    const x = fixedInput(c.config);
    const expected = tf.tidy(() => (c.networks.get('genAB') as Network).apply(x).dataSync());
    const session = await createOnnxGenerator(join(dir, 'genAB.onnx'), { threads: 1 });
    const got = await session.run(x.dataSync() as Float32Array, x.shape);
    await session.release();
    x.dispose();
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    expect(got.length).toBe(expected.length);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('a training checkpoint, one with discriminators, or onnx: false gets none', async () => {
    const c = content('pix2pix', 2);
    const all = await saveCheckpoint(join(tmp, 'all-roles'), c);
    expect(all.onnx).toBeUndefined();
    expect(existsSync(join(tmp, 'all-roles', 'gen.onnx'))).toBe(false);
    const off = await saveCheckpoint(join(tmp, 'off'), c, { roles: ['gen'], onnx: false });
    expect(off.onnx).toBeUndefined();
    expect(hasOnnxExport(join(tmp, 'off'), off, 'gen')).toBe(false);
    // Asked for explicitly, a full checkpoint exports its generator only.
    const on = await saveCheckpoint(join(tmp, 'on'), c, { onnx: true });
    expect(Object.keys(on.onnx?.files ?? {})).toEqual(['gen']);
  });
});

describe('exportCheckpointToOnnx (voxshift export)', () => {
  it('adds 3-D exports to a folder saved without them; weights untouched, checkpoint still loads', async () => {
    const dir = join(tmp, 'later');
    const c = content('cyclegan', 3);
    await saveCheckpoint(dir, c, { roles: ['genAB', 'genBA', 'discA', 'discB'] });
    const weights = readFileSync(join(dir, 'weights.bin'));
    const first = await exportCheckpointToOnnx(dir, { roles: ['genBA'] });
    expect(Object.keys(first.files)).toEqual(['genBA']);
    const index = await exportCheckpointToOnnx(dir);
    expect(index.layout).toBe('NCDHW');
    expect(Object.keys(index.files).sort()).toEqual(['genAB', 'genBA']);
    const m = await readManifest(dir);
    expect(m.onnx).toEqual(index);
    expect(readFileSync(join(dir, 'weights.bin')).equals(weights)).toBe(true);
    const loaded = await loadCheckpoint(dir, { roles: ['genAB'] });
    for (const n of loaded.networks.values()) n.dispose();
    expect(hasOnnxExport(dir, m, 'genAB')).toBe(true);
  });

  it('refuses a discriminator, a role the checkpoint lacks, and a folder that is no checkpoint', async () => {
    const dir = join(tmp, 'refuse');
    await saveCheckpoint(dir, content('pix2pix', 2));
    const disc = await rejected(exportCheckpointToOnnx(dir, { roles: ['disc'] }));
    expect(disc.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(disc.message).toMatch(/discriminator/);
    const missing = await rejected(exportCheckpointToOnnx(dir, { roles: ['genAB'] }));
    expect(missing.message).toMatch(/no genAB network/);
    const none = await rejected(exportCheckpointToOnnx(join(tmp, 'nowhere')));
    expect(none.code).toBe('VOXSHIFT_E_FILE_NOT_FOUND');
  });

  it('a damaged export is CORRUPT_CHECKPOINT; a deleted or stale one is reported as missing', async () => {
    const dir = join(tmp, 'damaged');
    await saveCheckpoint(dir, content('pix2pix', 2), { roles: ['gen'] });
    const m = await readManifest(dir);
    const bytes = readFileSync(join(dir, 'gen.onnx'));
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(join(dir, 'gen.onnx'), bytes);
    const e = await rejected(findOnnxExport(dir, m, 'gen'));
    expect(e.code).toBe('VOXSHIFT_E_CORRUPT_CHECKPOINT');
    expect(e.message).toMatch(/voxshift export/);
    const stale = { ...m, onnx: { ...(m.onnx as NonNullable<typeof m.onnx>), weightsSha256: '0'.repeat(64) } };
    const s = await findOnnxExport(dir, stale, 'gen');
    expect(s.ok).toBe(false);
    expect(hasOnnxExport(dir, stale, 'gen')).toBe(false);
    rmSync(join(dir, 'gen.onnx'));
    const gone = await findOnnxExport(dir, m, 'gen');
    expect(gone).toEqual({ ok: false, reason: 'gen.onnx is listed in the manifest but missing' });
  });
});
