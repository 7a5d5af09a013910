/**
 * The learned anatomy measure of the report on a tiny cohort (3 sites × 3 subjects, 32×32×16): a
 * U-Net trained on the reference site's training subjects only, its Dice against the truth for every
 * row and site; the same seed gives the same numbers; an affine method (z-score) leaves it where the
 * original is (the network normalises each image by its percentiles); clear errors when the
 * reference site's training subjects have no labels, when there are no truth classes, and for bad
 * settings; off by default without labels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { learnedDiceVsTruth, trainAnatomySegmenter } from '../../../harmonize/measure/learned-anatomy.ts';
import { harmonizationReport, type ExperimentSubject, type ReportOptions } from '../../../harmonize/measure/report.ts';
import { phantomSiteCohort } from '../../../harmonize/phantom-sites.ts';
import { useBackend } from '../../models3d/training/training-backend.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

const subjects: ExperimentSubject[] = phantomSiteCohort({ subjects: 3, seed: 8, shape: [32, 32, 16] }).map((s) => ({
  ...s,
  role: Number(s.subjectId.split('-').pop()) < 1 ? 'train' : 'test',
}));
const tiny = { steps: 12, filters: 4, depth: 2, batchSize: 2, patchSize: 32, learningRate: 0.01, seed: 2 };
const base: ReportOptions = { subjects, reference: 'siteA', methods: ['zscore'], classifier: { repeats: 1, folds: 2 }, tissueClasses: null };

describe('learned anatomy (reference-site U-Net) in the report', () => {
  it('trains on the reference site only, scores every row and site, and is deterministic', async () => {
    const steps: number[] = [];
    const before = tf.memory().numTensors;
    const a = await harmonizationReport({ ...base, learnedAnatomy: { ...tiny, onStep: (r) => steps.push(r.step) } });
    expect(tf.memory().numTensors).toBe(before);
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(a.learnedSegmenter).toMatchObject({ subjects: ['siteA-0'], steps: 12, seed: 2, patchSize: 32, filters: 4, depth: 2 });
    const [original, zscore] = a.rows;
    for (const row of [original, zscore]) {
      const d = row.learnedDiceVsTruth;
      expect(Object.keys(d?.perSite ?? {})).toEqual(['siteA', 'siteB', 'siteC']);
      expect(Object.keys(d?.perClass ?? {})).toEqual(['dark', 'fat', 'soft']);
      for (const v of [d?.mean, ...Object.values(d?.perSite ?? {}), ...Object.values(d?.perClass ?? {})]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    // z-score is an affine map: the network's per-image percentile normalisation undoes it.
    expect(zscore.learnedDiceVsTruth?.mean).toBeCloseTo(original.learnedDiceVsTruth?.mean ?? -1, 2);
    // Same subjects, settings and seed: the same segmenter, so the same Dice; another seed differs.
    const ref = subjects.filter((x) => x.site === 'siteA' && x.role === 'train');
    const train = ref.map((x) => ({ id: x.subjectId, image: x.image, truth: Uint8Array.from(x.labels?.data ?? [], (l) => [0, 1, 2, 3, 3, 3, 3, 1, 3, 3][l]) }));
    const probe = subjects.find((x) => x.site === 'siteB' && x.role === 'test') as ExperimentSubject;
    const mask = Uint8Array.from(probe.labels?.data ?? [], (l) => (l > 0 ? 1 : 0));
    const truth = Uint8Array.from(probe.labels?.data ?? [], (l) => [0, 1, 2, 3, 3, 3, 3, 1, 3, 3][l]);
    const dice = async (seed: number): Promise<number[]> => {
      const t = await trainAnatomySegmenter(train, { ...tiny, steps: 3, seed });
      try {
        return learnedDiceVsTruth(t.segmenter, probe.image, mask, truth);
      } finally {
        t.segmenter.dispose();
      }
    };
    const d1 = await dice(2);
    expect(await dice(2)).toEqual(d1);
    expect(await dice(5)).not.toEqual(d1);
  }, 180_000);

  it('is off without labels and refuses requests it cannot honour', async () => {
    const unlabelled = subjects.map(({ labels: _, ...s }) => s);
    const r = await harmonizationReport({ ...base, subjects: unlabelled, methods: [] });
    expect(r.learnedSegmenter).toBeUndefined();
    expect(r.rows[0].learnedDiceVsTruth).toBeUndefined();
    const refUnlabelled = subjects.map((s) => (s.site === 'siteA' && s.role === 'train' ? { ...s, labels: undefined } : s));
    await expect(harmonizationReport({ ...base, subjects: refUnlabelled, learnedAnatomy: tiny })).rejects.toThrow(
      /trains on the reference site's labelled training subjects, but 1 of siteA's have no label map \(siteA-0\)/,
    );
    const testUnlabelled = subjects.map((s) => (s.site === 'siteB' && s.role === 'test' ? { ...s, labels: undefined } : s));
    await expect(harmonizationReport({ ...base, subjects: testUnlabelled, learnedAnatomy: tiny })).rejects.toThrow(/needs a label map for every subject.*missing for siteB-1, siteB-2/);
    await expect(harmonizationReport({ ...base, truthClasses: null, learnedAnatomy: tiny })).rejects.toThrow(/needs truthClasses/);
    await expect(trainAnatomySegmenter([])).rejects.toThrow(/at least one labelled training subject of the reference site/);
    const one = [{ id: 'x', image: subjects[0].image, truth: new Uint8Array(subjects[0].image.data.length) }];
    await expect(trainAnatomySegmenter(one, { steps: 0 })).rejects.toThrow(/learnedAnatomy\.steps must be a positive integer, got 0/);
    await expect(trainAnatomySegmenter(one, { patchSize: 48 })).rejects.toThrow(/learnedAnatomy\.patchSize must be a multiple of 8 \(2\^depth\) no larger than the smallest axial slice side \(32\), got 48/);
  }, 120_000);
});
