/**
 * exportDataset with GAN steps in the pipeline JSON: Translate (the shipped phantom MR → CT Pix2Pix)
 * and LabelToImageGAN (a tiny label → T1 Pix2Pix trained here). Labels are the spatially transformed
 * source labels bit for bit (the same export without the GAN step), images are new, the manifest
 * names the checkpoint; 1 and 2 workers give the same bytes; resume redoes exactly what is missing and
 * refuses a changed model; bad models are refused up front naming the key. (A real SIGKILL mid-export:
 * export-gan-workers.test.ts.)
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../../augment/export/export-dataset.ts';
import type { ManifestRecord } from '../../../augment/export/sample.ts';
import { parsePipeline } from '../../../augment/pipeline.ts';
import { readManifest } from '../../../models3d/checkpoint/checkpoint.ts';
import { shippedModelDir } from '../../../models3d/shipped-models.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { readVolume } from '../../../volumes/io.ts';
import { writeNifti } from '../../../volumes/nifti/write-nifti.ts';
import { rejected } from '../../helpers/rejected.ts';
import { useBackend } from '../../models3d/training/training-backend.ts';
import { labelPhantoms, trainLabelModel } from '../../models3d/training/label-model.ts';
import { bytesOf } from '../subjects.ts';

const root = mkdtempSync(join(tmpdir(), 'voxshift-export-gan-'));
const images = join(root, 'in', 'images');
const labels = join(root, 'in', 'labels');
const pipes = join(root, 'pipes');
const mr2ct = shippedModelDir('phantom-mr2ct-pix2pix-2d');
let labelModel = '';

const SPATIAL = [
  { type: 'RandomAffine', rotationDeg: [-10, 10], scale: [0.9, 1.1] },
  { type: 'RandomFlip', axes: [0], p: 0.5 },
];

beforeAll(async () => {
  mkdirSync(images, { recursive: true });
  mkdirSync(labels, { recursive: true });
  mkdirSync(pipes, { recursive: true });
  for (const [i, p] of labelPhantoms([5, 6]).entries()) {
    await writeNifti(p.t1, join(images, `case${i}.nii.gz`));
    await writeNifti(p.labels, join(labels, `case${i}.nii.gz`));
  }
  await useBackend('wasm');
  labelModel = (await trainLabelModel(labelPhantoms([1, 2]), join(root, 'run'), 200)).modelDir as string;
}, 30_000);
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await useBackend('cpu');
});

function manifest(out: string): ManifestRecord[] {
  return readFileSync(join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ManifestRecord);
}

function snapshot(out: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const d of ['images', 'labels']) for (const f of readdirSync(join(out, d))) m.set(`${d}/${f}`, readFileSync(join(out, d, f)));
  m.set('manifest.jsonl', readFileSync(join(out, 'manifest.jsonl')));
  return m;
}

function expectSame(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, v] of a) expect(v.equals(b.get(k)!), k).toBe(true);
}

const run = (json: unknown, out: string, workers: number, perSubject = 2) =>
  exportDataset({ images, labels, pipeline: { json, baseDir: pipes }, perSubject, seed: 11, out: join(root, out), workers });

/** Per sample: labels equal the no-GAN reference's voxel for voxel and geometry; the image differs from the reference's. */
async function compareWithReference(out: string, reference: string): Promise<void> {
  const recs = manifest(join(root, out));
  const refs = manifest(join(root, reference));
  expect(recs.map((r) => r.sample)).toEqual(['case0_0000', 'case0_0001', 'case1_0000', 'case1_0001']);
  for (const [i, r] of recs.entries()) {
    const lab = await readVolume(join(root, out, r.label));
    const refLab = await readVolume(join(root, reference, refs[i].label));
    expect(lab.kind).toBe('label');
    expect(bytesOf(lab).equals(bytesOf(refLab)), r.sample).toBe(true);
    expect(lab.shape).toEqual(refLab.shape);
    expect(lab.direction).toEqual(refLab.direction);
    expect(r.history.label).toEqual(refs[i].history.label);
    const img = await readVolume(join(root, out, r.image));
    const refImg = await readVolume(join(root, reference, refs[i].image));
    expect(img.shape).toEqual(lab.shape);
    expect(bytesOf(img).equals(bytesOf(refImg))).toBe(false);
  }
}

describe('exportDataset with GAN steps', () => {
  it('Translate: labels are the spatially transformed source labels, images are CT, the model is recorded; 1 and 2 workers give the same bytes', async () => {
    const json = { name: 'tr', transforms: [...SPATIAL, { type: 'Translate', model: relative(pipes, mr2ct) }] };
    const r1 = await run(json, 'tr-w1', 1);
    const r2 = await run(json, 'tr-w2', 2);
    await run(SPATIAL, 'spatial', 0);
    expect(r1).toMatchObject({ samples: 4, written: 4, workers: 1 });
    expect(r2).toMatchObject({ samples: 4, written: 4, workers: 2 });
    expectSame(snapshot(join(root, 'tr-w1')), snapshot(join(root, 'tr-w2')));
    await compareWithReference('tr-w1', 'spatial');
    const sha = (await readManifest(mr2ct)).weights.sha256;
    for (const rec of manifest(join(root, 'tr-w1'))) {
      const ops = rec.history.image.map((h) => h.op);
      expect(ops.at(-1)).toBe('Translate');
      expect(ops).toContain('Affine');
      expect(rec.history.label.map((h) => h.op)).not.toContain('Translate');
      expect(rec.history.image.at(-1)!.params).toMatchObject({ checkpointId: sha, step: 2400, from: 'MR', to: 'CT', source: 'image', model: join(mr2ct, 'manifest.json') });
      // Air around the head: the image is CT now.
      const img = await readVolume(join(root, 'tr-w1', rec.image));
      const lab = await readVolume(join(root, 'tr-w1', rec.label));
      let air = 0;
      let n = 0;
      for (let p = 0; p < lab.data.length; p++) {
        if (lab.data[p] === 0) {
          air += img.data[p];
          n++;
        }
      }
      expect(air / n).toBeLessThan(-500);
    }
    const settings = JSON.parse(readFileSync(join(root, 'tr-w1', 'augment.json'), 'utf8')) as { models: unknown[] };
    expect(settings.models).toEqual([{ step: 'pipeline[2]', type: 'Translate', model: mr2ct, checkpointId: sha, trainingStep: 2400, runtime: 'onnx' }]);
  }, 60_000);

  it('LabelToImageGAN: a new image from the moved label map, then more steps; same bytes for 1 and 2 workers', async () => {
    const json = [...SPATIAL, { type: 'LabelToImageGAN', model: relative(pipes, labelModel), labels: 'label' }, { type: 'RandomGamma' }];
    await run(json, 'l2i-w1', 1);
    await run(json, 'l2i-w2', 2);
    expectSame(snapshot(join(root, 'l2i-w1')), snapshot(join(root, 'l2i-w2')));
    await compareWithReference('l2i-w1', 'spatial');
    const sha = (await readManifest(labelModel)).weights.sha256;
    for (const rec of manifest(join(root, 'l2i-w1'))) {
      // The image is made from the label map: its history is the label map's, then the GAN, then Gamma.
      expect(rec.history.image.slice(0, rec.history.label.length)).toEqual(rec.history.label);
      expect(rec.history.image.slice(rec.history.label.length).map((h) => h.op)).toEqual(['LabelToImageGAN', 'Gamma']);
      expect(rec.history.image.at(-2)!.params).toMatchObject({ checkpointId: sha, step: 200, labels: 'label', to: 'MR' });
    }
    // Different samples differ.
    const s = snapshot(join(root, 'l2i-w1'));
    expect(s.get('images/case0_0000.nii.gz')!.equals(s.get('images/case0_0001.nii.gz')!)).toBe(false);
  }, 60_000);

  it('resumes an interrupted GAN export bit for bit, and refuses to resume with a changed model', async () => {
    const json = [...SPATIAL, { type: 'LabelToImageGAN', model: relative(pipes, labelModel), labels: 'label' }, { type: 'RandomGamma' }];
    const out = join(root, 'l2i-w2');
    const before = snapshot(out);
    const kept = statSync(join(out, 'images', 'case0_0000.nii.gz')).mtimeMs;
    unlinkSync(join(out, 'images', 'case1_0001.nii.gz'));
    unlinkSync(join(out, 'labels', 'case0_0001.nii.gz'));
    writeFileSync(join(out, 'manifest.jsonl'), `${readFileSync(join(out, 'manifest.jsonl'), 'utf8')}{"sample":"case1_`);
    const r = await run(json, 'l2i-w2', 2);
    expect(r).toMatchObject({ written: 2, skipped: 2 });
    expectSame(before, snapshot(out));
    expect(statSync(join(out, 'images', 'case0_0000.nii.gz')).mtimeMs).toBe(kept);

    // A retrained model in the same folder (other weights) must not be mixed into the dataset.
    const copy = join(root, 'model-copy');
    cpSync(labelModel, copy, { recursive: true });
    const json2 = [{ type: 'LabelToImageGAN', model: copy }];
    await run(json2, 'changed', 0, 1);
    const m = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8')) as { weights: { sha256: string } };
    m.weights.sha256 = 'f'.repeat(64);
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify(m));
    await expect(run(json2, 'changed', 0, 1)).rejects.toThrow(/other settings/);
  }, 60_000);

  it('refuses bad GAN steps before any work, naming the key', async () => {
    const cases: [unknown, RegExp, string][] = [
      [[...SPATIAL, { type: 'Translate', model: 'no/such/model' }], /pipeline\[2\]\.model \(Translate\): ".*no[\\/]such[\\/]model" does not exist/, 'pipeline[2].model'],
      [[{ type: 'Translate', model: labelModel }], /pipeline\[0\]\.model \(Translate\): .* is a label → image model .*use it in a LabelToImageGAN step/, 'pipeline[0].model'],
      [[{ type: 'RandomGamma' }, { type: 'LabelToImageGAN', model: mr2ct }], /pipeline\[1\]\.model \(LabelToImageGAN\): .* translates MR \(MR\) images, not label maps/, 'pipeline[1].model'],
      [[{ type: 'Translate', model: mr2ct, direction: 'BtoA' }], /pipeline\[0\]\.model \(Translate\): a Pix2Pix model translates only A→B/, 'pipeline[0].model'],
      [[{ type: 'Translate', model: pipes }], /pipeline\[0\]\.model \(Translate\): .* is not a usable checkpoint \(.*no manifest\.json/, 'pipeline[0].model'],
      [[{ type: 'LabelToImageGAN', model: labelModel, label: 'label' }], /pipeline\[0\]\.label: unknown option/, 'pipeline[0].label'],
      [[{ type: 'LabelToImageGAN' }], /pipeline\[0\]\.model: expected the folder of a trained checkpoint/, 'pipeline[0].model'],
      [[{ type: 'OneOf', transforms: [{ type: 'Translate', model: mr2ct }] }], /pipeline\[0\]\.transforms\[0\]\.type: Translate runs a GAN .* top-level step/, 'pipeline[0].transforms[0].type'],
    ];
    for (const [i, [json, message, param]] of cases.entries()) {
      const out = join(root, `bad${i}`);
      const e = await rejected(run(json, `bad${i}`, 2));
      expect(e.message).toMatch(message);
      expect(isVoxshiftError(e) && e.param, String(i)).toBe(param);
      expect(existsSync(out), `bad${i}: nothing written`).toBe(false);
    }
    // A synchronous pipeline (service jobs, train-segmenter) says where GAN steps run.
    expect(() => parsePipeline([{ type: 'LabelToImageGAN', model: labelModel }])).toThrow(/pipeline\[0\]\.type: LabelToImageGAN runs a GAN \(async\).*dataset export/);
  }, 30_000);
});
