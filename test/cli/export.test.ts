/**
 * `voxshift export` and `voxshift translate --runtime`, in-process on a tiny saved Pix2Pix: the export
 * is written, recorded and verified against tfjs; translate picks onnx once it exists and says so,
 * `--runtime tfjs|onnx` forces one (same output within tolerance), and `--runtime onnx` on a model
 * without an export, or an unknown runtime, exits 2 with a message.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { saveCheckpoint } from '../../models3d/checkpoint/checkpoint.ts';
import { phantomSet } from '../../models3d/data/phantom-data.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { useBackend } from '../models3d/training/training-backend.ts';
import { tinyConfig, tinyContent } from '../models3d/training/tiny-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-export-'));
const model = join(tmp, 'model');
const input = join(tmp, 'mr.nii.gz');

beforeAll(async () => {
  await useBackend('wasm');
  const content = tinyContent(tinyConfig('pix2pix', 2));
  try {
    await saveCheckpoint(model, content, { roles: ['gen'], onnx: false });
  } finally {
    for (const n of content.networks.values()) n.dispose();
  }
  await writeVolume(phantomSet({ count: 1, shape: [28, 24, 6], seed: 77 }).a[0], input);
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

const TFJS = ['--backend', 'wasm', '--threads', '1'];

describe('voxshift export / translate --runtime', () => {
  it('without an export: auto runs tfjs and says how to make one; --runtime onnx exits 2 naming voxshift export', async () => {
    const auto = await run(['translate', '--model', model, ...TFJS, input, join(tmp, 'auto-tfjs.nii.gz')]);
    expect(auto.code).toBe(0);
    expect(auto.err).toMatch(/translating with gen on tfjs \(wasm backend\) \(runtime auto: no ONNX export/);
    expect(auto.out).toMatch(/on tfjs; wrote/);
    const forced = await run(['translate', '--model', model, '--runtime', 'onnx', input, join(tmp, 'x.nii.gz')]);
    expect(forced.code).toBe(2);
    expect(forced.err).toMatch(/VOXSHIFT_E_FILE_NOT_FOUND/);
    expect(forced.err).toMatch(/runtime onnx needs an ONNX export of the gen generator.*voxshift export --model/);
    expect(existsSync(join(tmp, 'x.nii.gz'))).toBe(false);
    const bogus = await run(['translate', '--model', model, '--runtime', 'torch', input, join(tmp, 'x.nii.gz')]);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toMatch(/--runtime must be auto, onnx or tfjs, got "torch"/);
  });

  it('export --verify writes gen.onnx, records it and agrees with tfjs', async () => {
    const r = await run(['export', '--model', model, '--verify', '--backend', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/exported gen → .*gen\.onnx \(\d+\.\d\d MiB\); ONNX opset 13, NCHW/);
    expect(r.err).toMatch(/verify gen: input \[1, 64, 64, 1\], max \|onnx − tfjs\| \d\.\d\de-\d+/);
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.onnx.files)).toEqual(['gen']);
    const bad = await run(['export', '--model', model, '--roles', 'disc,nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown network "nope"/);
  });

  it('with the export: auto runs onnx; --runtime tfjs gives the same volume within tolerance', async () => {
    const onnxOut = join(tmp, 'onnx.nii.gz');
    const auto = await run(['translate', '--model', model, '--threads', '1', input, onnxOut]);
    expect(auto.code).toBe(0);
    expect(auto.err).toMatch(/gen\.onnx on onnxruntime-node .*CPU execution provider, 1 thread \(runtime auto: the model has an ONNX export\)/);
    expect(auto.out).toMatch(/on onnx; wrote/);
    const tfjsOut = join(tmp, 'tfjs.nii.gz');
    const forced = await run(['translate', '--model', model, '--runtime', 'tfjs', ...TFJS, input, tfjsOut]);
    expect(forced.code).toBe(0);
    expect(forced.err).toMatch(/\(runtime tfjs\)/);
    const [a, b] = [await readVolume(onnxOut), await readVolume(tfjsOut)];
    expect(a.shape).toEqual(b.shape);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
    // CT window 4024 HU: 1e-4 of [−1, 1] is 0.2 HU (NIfTI float32 storage adds nothing).
    expect(worst).toBeLessThanOrEqual(0.2);
  });
});
