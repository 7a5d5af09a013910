/**
 * `voxshift validate --segmenter DIR`: a learned segmenter checkpoint (validation/segment/learned;
 * a tiny U-Net trained for two steps, so its output is arbitrary) segments the source, with its
 * stored label → shared-class mapping; the run completes with a verdict (exit 0 or 1, never 2) and
 * the report names the learned segmenter.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../models3d/engine/backend.ts';
import { saveLearnedSegmenter, trainSegmenter } from '../../validation/segment/learned/index.ts';
import type { ValidationReport } from '../../validation/report/index.ts';
import { writeVolume } from '../../volumes/io.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { runCli as run } from '../helpers/run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-validate-learned-'));

beforeAll(async () => {
  await initBackend('wasm', { threads: 1 });
  const p = generatePhantom({ region: 'head', seed: 3, shape: [32, 32, 16] });
  await writeVolume(p.t1, join(tmp, 't1.nii.gz'));
  await writeVolume(p.ct, join(tmp, 'ct.nii.gz'));
  const trained = await trainSegmenter({
    subjects: [{ id: 'p3', image: p.t1, label: p.labels }],
    classes: [
      { value: 3, name: 'soft' },
      { value: 5, name: 'wm' },
    ],
    sharedClasses: { 3: 3, 5: 3 },
    patchSize: 16,
    batchSize: 2,
    steps: 2,
    filters: 4,
    depth: 2,
    seed: 1,
  });
  await saveLearnedSegmenter(join(tmp, 'seg'), trained.segmenter);
  trained.segmenter.dispose();
}, 60_000);
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await initBackend('cpu');
});

describe('voxshift validate --segmenter DIR', () => {
  it('segments the source with the learned checkpoint', async () => {
    const dir = join(tmp, 'report');
    const { code, err } = await run([
      'validate', '--source', join(tmp, 't1.nii.gz'), '--synthetic', join(tmp, 'ct.nii.gz'), '--report', dir, '--segmenter', join(tmp, 'seg'), '--backend', 'wasm',
    ]);
    expect(err).toMatch(/source: learned segmenter from .*seg/);
    expect([0, 1]).toContain(code);
    const r: ValidationReport = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(r.segmenters.source).toBe('learned-unet');
    expect(r.verdict).toBe(code === 0 ? 'pass' : 'fail');
    expect(r.notes.some((n) => n.includes('learned segmenter'))).toBe(true);
  }, 30_000);
});
