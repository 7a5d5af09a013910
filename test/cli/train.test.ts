/**
 * `voxshift train` and `voxshift translate` end to end, in-process: a tiny Pix2Pix on small phantoms,
 * stop and resume, translation of a NIfTI file onto its own grid, and exit code 2 with a message for
 * bad arguments.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { initBackend } from '../../models3d/engine/backend.ts';
import { phantomSet } from '../../models3d/data/phantom-data.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-train-'));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await initBackend('cpu');
});

/** A tiny Pix2Pix on one 32×32×16 phantom, wasm with one thread. */
const TINY = [
  '--phantoms', '1', '--phantom-shape', '32,32,16',
  '--ngf', '4', '--depth', '2', '--ndf', '4', '--d-layers', '2', '--patch', '16,16',
  '--log-every', '1', '--montage-every', '2', '--backend', 'wasm', '--threads', '1',
];

describe('voxshift train / translate', () => {
  const runDir = join(tmp, 'run');

  it('train pix2pix writes model/, checkpoint/, log.jsonl and montages', async () => {
    const { code, err } = await run(['train', 'pix2pix', ...TINY, '--steps', '4', '--out', runDir]);
    expect(err).toMatch(/trained 4 steps/);
    expect(code).toBe(0);
    for (const f of ['model/manifest.json', 'model/weights.bin', 'checkpoint/manifest.json', 'checkpoint/training-state.bin', 'log.jsonl']) {
      expect(existsSync(join(runDir, f))).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(runDir, 'model', 'manifest.json'), 'utf8'));
    expect(manifest.step).toBe(4);
    expect(Object.keys(manifest.networks)).toEqual(['gen']);
    expect(manifest.config).toMatchObject({
      kind: 'pix2pix',
      spatialDims: 2,
      generator: { type: 'unet', ngf: 4, depth: 2 },
      discriminator: { ndf: 4, layers: 2 },
      optimizer: { constantSteps: 2, decaySteps: 2 },
      data: { patchSize: [16, 16] },
      domains: { a: { modality: 'MR' }, b: { modality: 'CT' } },
    });
    // The phantom grid was the small one (32×32×16 over the head's field of view).
    expect(manifest.spacing.a).toEqual([6.4, 6.4, 12]);
    expect(readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(readdirSync(join(runDir, 'montage')).sort()).toEqual(['step-000002.png', 'step-000004.png']);
  });

  it('translate --model writes a NIfTI on the input grid, in HU', async () => {
    const mr = phantomSet({ count: 1, shape: [28, 24, 10], seed: 100_003 }).a[0];
    const input = join(tmp, 'mr.nii.gz');
    await writeVolume(mr, input);
    const output = join(tmp, 'sct.nii.gz');
    const { code, out, err } = await run(['translate', '--model', join(runDir, 'model'), '--backend', 'wasm', '--threads', '1', input, output]);
    expect(err).not.toMatch(/error/);
    expect(code).toBe(0);
    expect(out).toMatch(/translated 28×24×10 MR → CT/);
    const src = await readVolume(input);
    const sct = await readVolume(output);
    expect(sct.shape).toEqual(src.shape);
    sct.spacing.forEach((s, i) => expect(s).toBeCloseTo(src.spacing[i], 5));
    sct.origin.forEach((s, i) => expect(s).toBeCloseTo(src.origin[i], 4));
    sct.direction.forEach((s, i) => expect(s).toBeCloseTo(src.direction[i], 6));
    expect(Array.from(sct.data).every((v) => Number.isFinite(v) && v >= -1100 && v <= 3100)).toBe(true);
    // An existing output is not replaced without --overwrite.
    const again = await run(['translate', '--model', join(runDir, 'model'), '--backend', 'wasm', '--threads', '1', input, output]);
    expect(again.code).toBe(2);
  });

  it('--stop-at saves a resumable checkpoint; --resume finishes the model', async () => {
    const dir = join(tmp, 'resumed');
    const first = await run(['train', 'pix2pix', ...TINY, '--steps', '4', '--stop-at', '2', '--out', dir]);
    expect(first.code).toBe(0);
    expect(existsSync(join(dir, 'model'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint', 'manifest.json'), 'utf8')).step).toBe(2);
    const second = await run(['train', 'pix2pix', ...TINY, '--steps', '4', '--resume', '--out', dir]);
    expect(second.code).toBe(0);
    expect(readFileSync(join(dir, 'model', 'weights.bin')).equals(readFileSync(join(runDir, 'model', 'weights.bin')))).toBe(true);
    // Resuming with other options is refused.
    const other = await run(['train', 'pix2pix', ...TINY, '--steps', '6', '--resume', '--out', dir]);
    expect(other.code).toBe(2);
    expect(other.err).toContain('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
  });

  it('bad arguments exit 2 with a message naming the problem', async () => {
    const out = join(tmp, 'bad');
    // --steps 4 everywhere: a case that wrongly passes validation trains briefly instead of 2000 steps.
    const cases: [string[], RegExp][] = [
      [['train', 'stargan', '--phantoms', '1', '--out', out], /cyclegan or pix2pix/],
      [['train', 'pix2pix', ...TINY, '--dims', '4', '--out', out], /--dims must be 2 or 3/],
      [['train', 'pix2pix', '--out', out], /--a and --b volumes, or --phantoms/],
      [['train', 'pix2pix', '--a', join(tmp, 'missing.nii'), '--b', join(tmp, 'missing.nii'), '--out', out], /FILE_NOT_FOUND/],
      [['train', 'pix2pix', ...TINY, '--phantom-shape', '32,32', '--out', out], /--phantom-shape/],
      [['train', 'pix2pix', ...TINY, '--patch', '10,10', '--out', out], /data\.patchSize/],
      [['train', 'pix2pix', ...TINY, '--steps', 'many', '--out', out], /--steps must be an integer/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await run([...args, ...(args.includes('--steps') ? [] : ['--steps', '4'])]);
      expect(code, args.join(' ')).toBe(2);
      expect(err, args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(out, 'model'))).toBe(false);
  });

  it('translate with a folder that is no model exits 2', async () => {
    const notModel = join(tmp, 'not-a-model');
    mkdirSync(notModel, { recursive: true });
    writeFileSync(join(notModel, 'model.json'), '{}');
    const { code, err } = await run(['translate', '--model', notModel, '--backend', 'wasm', '--threads', '1', join(tmp, 'mr.nii.gz'), join(tmp, 'x.nii.gz')]);
    expect(code).toBe(2);
    expect(err).toContain('VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT');
  });
});
