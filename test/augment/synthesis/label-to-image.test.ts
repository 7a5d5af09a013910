import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../../augment/pipeline.ts';
import { twinFromHistory } from '../../../augment/registry.ts';
import { createSubject } from '../../../augment/subject.ts';
import { LabelToImage, RandomLabelToImage, SYNTHESIS_DEFAULTS, labelValues } from '../../../augment/synthesis/label-to-image.ts';
import { createRng } from '../../../volumes/random.ts';
import { phantom, bytesOf } from '../subjects.ts';

const labelsOnly = () => createSubject({ labels: phantom(3).labels });

function regionMeans(labels: ArrayLike<number>, image: ArrayLike<number>): Map<number, number> {
  const sum = new Map<number, [number, number]>();
  for (let i = 0; i < labels.length; i++) {
    const s = sum.get(labels[i]) ?? [0, 0];
    s[0] += image[i];
    s[1]++;
    sum.set(labels[i], s);
  }
  return new Map([...sum].map(([l, [s, n]]) => [l, s / n]));
}

describe('RandomLabelToImage', () => {
  it('same seed gives identical bytes; another seed differs; the history replays bit for bit', () => {
    const t = RandomLabelToImage();
    const a = t.apply(labelsOnly(), createRng(7));
    const b = t.apply(labelsOnly(), createRng(7));
    const c = t.apply(labelsOnly(), createRng(8));
    expect(bytesOf(a.image).equals(bytesOf(b.image))).toBe(true);
    expect(bytesOf(a.image).equals(bytesOf(c.image))).toBe(false);
    const entry = a.image.history.at(-1)!;
    expect(entry.op).toBe('LabelToImage');
    const replay = twinFromHistory(JSON.parse(JSON.stringify(entry))).apply(labelsOnly());
    expect(bytesOf(replay.image).equals(bytesOf(a.image))).toBe(true);
  });

  it('each label region (before blur and bias) has its mean in the sampled range, labels untouched', () => {
    const subject = labelsOnly();
    const labels = subject.labels;
    const t = RandomLabelToImage({ style: 'ct', blurSigmaMm: [0, 0], biasCoefficients: 0, perLabel: { '1': { mean: [400, 420], sd: [1, 2] } } });
    const twin = t.sample(subject, createRng(11));
    const out = twin.apply(subject);
    expect(out.labels).toBe(labels);
    expect(out.image.kind).toBe('intensity');
    expect(out.image.modality).toBe('CT');
    expect(out.image.shape).toEqual(labels.shape);
    expect(out.image.origin).toEqual(labels.origin);
    const p = twin.params as { classes: number[]; means: number[]; sds: number[] };
    expect(p.classes).toEqual(labelValues(labels));
    const means = regionMeans(labels.data, out.image.data);
    const { background, other } = SYNTHESIS_DEFAULTS.ct;
    p.classes.forEach((l, i) => {
      const range = l === 1 ? [400, 420] : l === 0 ? background.mean : other.mean;
      expect(p.means[i]).toBeGreaterThanOrEqual(range[0]);
      expect(p.means[i]).toBeLessThanOrEqual(range[1]);
      // The region's empirical mean sits at its Gaussian's mean (sd ≤ 40, ≥ a few voxels per region).
      expect(Math.abs(means.get(l)! - p.means[i])).toBeLessThan(Math.max(2, (3 * p.sds[i] + 1) / 2));
    });
    expect(Math.abs(means.get(1)! - 410)).toBeLessThan(12);
  });

  it('blur and bias change the image but keep it smooth and finite; an existing image is replaced, its history kept', () => {
    const p = phantom(3);
    const subject = createSubject({ t1: p.t1, labels: p.labels });
    const out = RandomLabelToImage({ image: 't1', blurSigmaMm: [1, 1], biasCoefficients: 0.3 }).apply(subject, createRng(2));
    expect(Object.keys(out)).toEqual(['t1', 'labels']);
    expect(out.t1.history.slice(0, -1)).toEqual(p.t1.history);
    expect(out.t1.data.every((v) => Number.isFinite(v))).toBe(true);
    expect(bytesOf(out.labels).equals(bytesOf(p.labels))).toBe(true);
  });

  it('works in a JSON pipeline and bad keys are named', () => {
    const pipe = parsePipeline({ transforms: [{ type: 'RandomLabelToImage', style: 'mr' }, { type: 'RandomGamma' }] });
    const out = pipe.apply(labelsOnly(), createRng(1));
    expect(out.image.history.map((h) => h.op)).toEqual([...phantom(3).labels.history.map((h) => h.op), 'LabelToImage', 'Gamma']);
    expect(() => parsePipeline([{ type: 'RandomLabelToImage', style: 'pet' }])).toThrow(/pipeline\[0\]\.style/);
    expect(() => parsePipeline([{ type: 'RandomLabelToImage', other: { mean: [5, 1] } }])).toThrow(/pipeline\[0\]\.other\.mean/);
  });

  it('refuses a subject without a label map and a twin with mismatched lengths', () => {
    const p = phantom(3);
    expect(() => RandomLabelToImage().apply(createSubject({ t1: p.t1 }), createRng(1))).toThrow(/exactly one label map/);
    expect(() => LabelToImage({ style: 'mr', classes: [0, 1], means: [1], sds: [1, 1], noiseSeed: 1, blurSigmaMm: [0, 0, 0], biasOrder: 0, biasCoefficients: [0] })).toThrow(
      /LabelToImage\.means/,
    );
  });
});
