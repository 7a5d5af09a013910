/**
 * labelToImageGAN with a tiny label → T1 Pix2Pix: the label map stays the same object, the image lies
 * on its grid with the history entry naming the checkpoint; after a spatial transform of the subject
 * the new image follows the moved labels; same input → same bytes; wrong models and subjects refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubject } from '../../../augment/subject.ts';
import { Flip } from '../../../augment/spatial/flip.ts';
import { labelToImageGAN } from '../../../augment/synthesis/label-to-image-gan.ts';
import { loadTranslator } from '../../../models3d/inference/translate.ts';
import { readManifest } from '../../../models3d/checkpoint/checkpoint.ts';
import { shippedModelDir } from '../../../models3d/shipped-models.ts';
import { rejected } from '../../helpers/rejected.ts';
import { useBackend } from '../../models3d/training/training-backend.ts';
import { brightest, labelPhantoms, perLabelMeans, trainLabelModel } from '../../models3d/training/label-model.ts';
import { bytesOf } from '../subjects.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-l2i-gan-'));
const phantoms = labelPhantoms([1, 2]);
let modelDir = '';

beforeAll(async () => {
  await useBackend('wasm');
  modelDir = (await trainLabelModel(phantoms, join(tmp, 'run'), 200)).modelDir as string;
}, 25_000);
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await useBackend('cpu');
});

describe('labelToImageGAN', () => {
  it('writes an image on the label grid, keeps the labels, records the checkpoint', async () => {
    const p = labelPhantoms([5])[0];
    const subject = createSubject({ t1: p.t1, labels: p.labels });
    const labelBytes = Buffer.from(bytesOf(p.labels));
    const out = await labelToImageGAN(subject, modelDir, { image: 'synth', runtime: 'tfjs' });
    expect(Object.keys(out)).toEqual(['t1', 'labels', 'synth']);
    expect(out.labels).toBe(p.labels);
    expect(out.t1).toBe(p.t1);
    expect(bytesOf(out.labels).equals(labelBytes)).toBe(true);
    const img = out.synth;
    expect(img.kind).toBe('intensity');
    expect(img.modality).toBe('MR');
    expect(img.shape).toEqual(p.labels.shape);
    expect(img.origin).toEqual(p.labels.origin);
    expect(img.direction).toEqual(p.labels.direction);
    expect(img.history.slice(0, -1)).toEqual(p.labels.history);
    const step = img.history.at(-1)!;
    const manifest = await readManifest(modelDir);
    expect(step.op).toBe('LabelToImageGAN');
    expect(step.params).toMatchObject({ checkpointId: manifest.weights.sha256, step: 200, labels: 'labels', to: 'MR', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(String(step.params.model)).toMatch(/model[\\/]manifest\.json$/);
    expect(brightest(perLabelMeans(img, p.labels))).toBe(brightest(perLabelMeans(p.t1, p.labels)));
  });

  it('after a spatial transform the image follows the moved label map; same input → same bytes', async () => {
    const p = phantoms[0];
    const flipped = Flip({ axes: [0] }).apply(createSubject({ image: p.t1, labels: p.labels }));
    const t = await loadTranslator(modelDir, 'AtoB', { runtime: 'tfjs' });
    try {
      const a = await labelToImageGAN(flipped, t);
      const b = await labelToImageGAN(flipped, t);
      expect(bytesOf(a.image).equals(bytesOf(b.image))).toBe(true);
      expect(a.labels).toBe(flipped.labels);
      expect(a.image.history.map((h) => h.op).slice(-2)).toEqual(['Flip', 'LabelToImageGAN']);
      const means = perLabelMeans(a.image, a.labels);
      expect(brightest(means)).toBe(brightest(perLabelMeans(p.t1, p.labels)));
      expect(Math.min(...means.values())).toBe(means.get(0));
    } finally {
      t.dispose();
    }
  });

  it('refuses a model that does not take label maps, and subjects without one label map', async () => {
    const p = phantoms[0];
    const e = await rejected(labelToImageGAN(createSubject({ labels: p.labels }), shippedModelDir('phantom-mr2ct-pix2pix-2d')));
    expect(e.message).toMatch(/not label maps; LabelToImageGAN needs a label → image Pix2Pix/);
    const e2 = await rejected(labelToImageGAN(createSubject({ t1: p.t1 }), modelDir));
    expect(e2.message).toMatch(/exactly one label map/);
    const e3 = await rejected(labelToImageGAN(createSubject({ t1: p.t1, labels: p.labels }), modelDir, { image: 'labels' }));
    expect(e3.message).toMatch(/image must name a new volume or an image/);
  });
});
