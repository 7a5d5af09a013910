/**
 * The built-in job's MR→CT part and the models it ships: both shipped checkpoints load, carry their
 * training command and an up-to-date ONNX export; the demo translates an unseen phantom, writes its
 * files on the MR's grid, and the model beats the linear baseline by the margin the README states.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemoSynthesis } from '../../cli/commands/demo-synthesis.ts';
import { readManifest } from '../../models3d/checkpoint/checkpoint.ts';
import { findOnnxExport } from '../../models3d/export/export-checkpoint.ts';
import { SHIPPED_MODELS, shippedModelDir, type ShippedModel } from '../../models3d/shipped-models.ts';
import { readVolume } from '../../volumes/io.ts';
import { decodePng } from '../../volumes/png.ts';

const out = mkdtempSync(join(tmpdir(), 'vx-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('shipped models', () => {
  for (const name of Object.keys(SHIPPED_MODELS) as ShippedModel[]) {
    it(`${name}: manifest with the training command, generators exported to ONNX from these weights`, async () => {
      const dir = shippedModelDir(name);
      const m = await readManifest(dir);
      expect(m.notes?.command).toMatch(/^voxshift train (pix2pix|cyclegan) --phantoms 8 /);
      expect(m.training).toBeUndefined();
      for (const role of Object.keys(m.networks)) {
        expect(role.startsWith('gen')).toBe(true);
        expect((await findOnnxExport(dir, m, role as 'gen')).ok).toBe(true);
      }
    });
  }
});

describe('demo MR → CT', () => {
  it('translates an unseen phantom, writes NIfTI and a montage, and beats the linear fit ≥ 2×', async () => {
    const lines: string[] = [];
    const r = await runDemoSynthesis(out, (s) => lines.push(s));
    expect(r.evaluation.subjects).toHaveLength(1);
    expect(r.evaluation.improvement).toBeGreaterThanOrEqual(2);
    expect(r.evaluation.modelMae).toBeLessThan(110);
    expect(lines.join('\n')).toMatch(/MAE in the body: model \d+\.\d HU, global linear MR→HU fit \d+\.\d HU/);
    const mr = await readVolume(join(out, 'mr2ct_input_t1.nii.gz'));
    const sct = await readVolume(join(out, 'mr2ct_synthetic_ct.nii.gz'));
    expect(sct.shape).toEqual(mr.shape);
    expect(sct.spacing.map((v) => Number(v.toFixed(4)))).toEqual(mr.spacing.map((v) => Number(v.toFixed(4))));
    expect(sct.origin.map((v) => Number(v.toFixed(3)))).toEqual(mr.origin.map((v) => Number(v.toFixed(3))));
    const png = decodePng(readFileSync(join(out, 'mr2ct_montage.png')));
    expect(png.width).toBeGreaterThan(5 * mr.shape[0]);
    expect(png.height).toBeGreaterThan(3 * mr.shape[1]);
  });
});
