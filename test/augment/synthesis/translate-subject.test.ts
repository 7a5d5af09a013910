import { describe, expect, it } from 'vitest';
import { createSubject } from '../../../augment/subject.ts';
import { translateSubject } from '../../../augment/synthesis/translate-subject.ts';
import { loadTranslator } from '../../../models3d/inference/translate.ts';
import { shippedModelDir } from '../../../models3d/shipped-models.ts';
import { bytesOf, phantom } from '../subjects.ts';

describe('translateSubject (shipped phantom MR → CT Pix2Pix on onnxruntime)', () => {
  it('makes a CT image, keeps labels bit-identical and the grid, records the model', async () => {
    const p = phantom(4, [32, 32, 8], true);
    const labelsBefore = Buffer.from(bytesOf(p.labels));
    const subject = createSubject({ t1: p.t1, labels: p.labels });
    const dir = shippedModelDir('phantom-mr2ct-pix2pix-2d');
    const t = await loadTranslator(dir, 'AtoB', { runtime: 'onnx', threads: 1 });
    try {
      const out = await translateSubject(subject, t, { output: 'ct' });
      expect(Object.keys(out)).toEqual(['t1', 'labels', 'ct']);
      expect(out.labels).toBe(p.labels);
      expect(out.t1).toBe(p.t1);
      expect(bytesOf(out.labels).equals(labelsBefore)).toBe(true);
      const ct = out.ct;
      expect(ct.modality).toBe('CT');
      expect(ct.shape).toEqual(p.t1.shape);
      expect(ct.spacing).toEqual(p.t1.spacing);
      expect(ct.origin).toEqual(p.t1.origin);
      expect(ct.direction).toEqual(p.t1.direction);
      expect(ct.history.slice(0, -1)).toEqual(p.t1.history);
      const step = ct.history.at(-1)!;
      expect(step.op).toBe('Translate');
      expect(step.params).toMatchObject({ step: t.manifest.step, direction: 'AtoB', kind: 'pix2pix', from: 'MR', to: 'CT', source: 't1' });
      expect(String(step.params.model)).toMatch(/phantom-mr2ct-pix2pix-2d[\\/]manifest\.json$/);
      // Air outside the head, denser tissue inside: the generator produced a CT-like image.
      let air = 0;
      let n = 0;
      for (let i = 0; i < p.labels.data.length; i++) {
        if (p.labels.data[i] === 0) {
          air += ct.data[i];
          n++;
        }
      }
      expect(air / n).toBeLessThan(-500);
      // Replacing the source (default output) keeps the key set.
      const replaced = await translateSubject(subject, t);
      expect(Object.keys(replaced)).toEqual(['t1', 'labels']);
      expect(bytesOf(replaced.t1).equals(bytesOf(ct))).toBe(true);
    } finally {
      t.dispose();
    }
  });

  it('refuses an ambiguous or non-image source', async () => {
    const p = phantom(4, [32, 32, 8]);
    const dir = shippedModelDir('phantom-mr2ct-pix2pix-2d');
    await expect(translateSubject(createSubject({ t1: p.t1, ct: p.ct, labels: p.labels }), dir)).rejects.toThrow(/exactly one image/);
    await expect(translateSubject(createSubject({ t1: p.t1, labels: p.labels }), dir, { source: 'labels' })).rejects.toThrow(/not an image/);
  });
});
