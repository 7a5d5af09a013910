/**
 * parseStagedPipeline / applyStaged / GanModels with the shipped phantom MR → CT Pix2Pix: the list is
 * cut at GAN steps, the synchronous parts draw the same numbers as without the GAN step, a model is
 * loaded once and reused, p = 0 skips the step without loading anything, relative paths use baseDir.
 */
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../../augment/pipeline.ts';
import { createSubject } from '../../../augment/subject.ts';
import { GanModels } from '../../../augment/synthesis/gan-steps.ts';
import { applyStaged, checkGanModels, parseStagedPipeline } from '../../../augment/synthesis/staged-pipeline.ts';
import { shippedModelDir } from '../../../models3d/shipped-models.ts';
import { createRng } from '../../../volumes/random.ts';
import { bytesOf, phantom } from '../subjects.ts';

const model = shippedModelDir('phantom-mr2ct-pix2pix-2d');
const SPATIAL = [{ type: 'RandomAffine', rotationDeg: [-10, 10] }, { type: 'RandomFlip', axes: [0], p: 0.5 }];
const AFTER = [{ type: 'RandomGamma' }, { type: 'RandomNoise', p: 0.5 }];

describe('staged pipelines (GAN steps between synchronous parts)', () => {
  it('cuts at GAN steps and resolves the model against baseDir', () => {
    const base = join(dirname(model), 'x');
    const p = parseStagedPipeline({ transforms: [...SPATIAL, { type: 'Translate', model: relative(base, model), p: 0.5 }, ...AFTER] }, { baseDir: base });
    expect(p.stages.map((s) => s.kind)).toEqual(['sync', 'gan', 'sync']);
    expect(p.gan).toHaveLength(1);
    expect(p.gan[0]).toMatchObject({ type: 'Translate', where: 'pipeline[2]', model, direction: 'AtoB', runtime: 'auto', p: 0.5 });
    expect(parseStagedPipeline(SPATIAL).stages.map((s) => s.kind)).toEqual(['sync']);
    expect(() => parseStagedPipeline([...SPATIAL, { type: 'Translate', model }, { type: 'RandomGamma', gama: 1 }])).toThrow(/pipeline\[3\]\.gama/);
  });

  it('labels and the steps around the GAN match the pipeline without it; the model is loaded once', async () => {
    const p = phantom(4, [32, 32, 8], true);
    const subject = createSubject({ image: p.t1, label: p.labels });
    const staged = parseStagedPipeline([...SPATIAL, { type: 'Translate', model }, ...AFTER]);
    expect(await checkGanModels(staged)).toMatchObject([{ where: 'pipeline[2]', type: 'Translate', runtime: 'onnx', step: 2400 }]);
    const plain = parsePipeline([...SPATIAL, ...AFTER]);
    const models = new GanModels({ threads: 1 });
    try {
      for (const seed of [1, 2, 3]) {
        const a = await applyStaged(staged, subject, createRng(seed), models);
        const b = plain.apply(subject, createRng(seed));
        expect(bytesOf(a.label).equals(bytesOf(b.label))).toBe(true);
        expect(a.label.history).toEqual(b.label.history);
        // Same Gamma/Noise draws after the GAN step as without it.
        const ops = (h: typeof a.image.history) => h.filter((e) => e.op !== 'Translate');
        expect(ops(a.image.history)).toEqual(ops(b.image.history));
        expect(a.image.history.map((h) => h.op)).toContain('Translate');
        expect(a.image.modality).toBe('CT');
        const again = await applyStaged(staged, subject, createRng(seed), models);
        expect(bytesOf(again.image).equals(bytesOf(a.image))).toBe(true);
      }
      expect(models.count).toBe(1);
      expect(await models.translator(staged.gan[0])).toBe(await models.translator(staged.gan[0]));
    } finally {
      await models.dispose();
    }
  }, 30_000);

  it('p = 0 leaves the subject as the synchronous steps made it and loads nothing', async () => {
    const p = phantom(4, [32, 32, 8]);
    const subject = createSubject({ image: p.t1, label: p.labels });
    const staged = parseStagedPipeline([...SPATIAL, { type: 'Translate', model, p: 0 }]);
    const models = new GanModels();
    const a = await applyStaged(staged, subject, createRng(5), models);
    expect(models.count).toBe(0);
    expect(a.image.history.map((h) => h.op)).not.toContain('Translate');
    expect(a.image.modality).toBe(p.t1.modality);
  });
});
