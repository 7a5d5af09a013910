/**
 * The report on a small cohort (3 sites × 4 subjects on a 48×48×32 grid; 2 for training, 2 held
 * out): every requested row is there with every feature family, the raw images are told apart by
 * site, harmonisation brings the distributions together and the reference-trained segmenter back
 * to work, validation's MR segmenter sees the same anatomy after an affine method (z-score), the
 * texture family is blind to monotone maps, ComBat reports on its feature table, and the PNG decodes.
 */
import { describe, expect, it } from 'vitest';
import { ACCURACY_FAMILIES, formatReport, harmonizationReport, type ExperimentSubject } from '../../../harmonize/measure/report.ts';
import { phantomSiteCohort } from '../../../harmonize/phantom-sites.ts';
import { decodePng } from '../../../volumes/png.ts';

const subjects: ExperimentSubject[] = phantomSiteCohort({ subjects: 4, seed: 21, shape: [48, 48, 32] }).map((s) => ({
  ...s,
  role: Number(s.subjectId.split('-').pop()) < 2 ? 'train' : 'test',
}));

describe('harmonizationReport', () => {
  it('measures every method side by side on the held-out subjects', async () => {
    const r = await harmonizationReport({ subjects, reference: 'siteA', methods: ['zscore', 'histmatch', 'combat'], classifier: { repeats: 2 }, learnedAnatomy: false });
    expect(r.sites).toEqual(['siteA', 'siteB', 'siteC']);
    expect(r.subjects).toEqual({ train: { siteA: 2, siteB: 2, siteC: 2 }, test: { siteA: 2, siteB: 2, siteC: 2 } });
    expect(r.chance).toBeCloseTo(1 / 3, 12);
    expect(r.rows.map((x) => [x.method, x.level])).toEqual([
      ['original', 'image'],
      ['zscore', 'image'],
      ['histmatch', 'image'],
      ['combat', 'features'],
    ]);
    const [original, zscore, histmatch, combat] = r.rows;
    for (const row of [original, zscore, histmatch]) {
      expect(Object.keys(row.accuracy).sort()).toEqual([...ACCURACY_FAMILIES].sort());
      for (const a of Object.values(row.accuracy)) expect(a.accuracy).toBeGreaterThanOrEqual(0);
    }
    // Raw sites are told apart; their intensity scales differ by far more than the reference's spread.
    expect(original.histogramAccuracy?.accuracy).toBe(1);
    expect(original.accuracy.histogram).toEqual(original.histogramAccuracy);
    expect(original.tissueAccuracy?.accuracy).toBe(1);
    expect(original.wasserstein?.relative).toBeGreaterThan(1);
    expect(Object.keys(original.wasserstein?.pairs ?? {})).toEqual(['siteA|siteB', 'siteA|siteC', 'siteB|siteC']);
    // Harmonized: distributions close, the reference-trained threshold segmenter works on every site.
    for (const row of [zscore, histmatch]) {
      expect(row.wasserstein?.relative).toBeLessThan(0.2 * (original.wasserstein?.relative ?? 0));
      expect(row.referenceSegmenterDice?.mean).toBeGreaterThan((original.referenceSegmenterDice?.mean ?? 1) + 0.2);
      expect(Math.min(...Object.values(row.referenceSegmenterDice?.perSite ?? {}))).toBeGreaterThan(0.7);
    }
    expect(original.referenceSegmenterDice?.perSite.siteA).toBeGreaterThan(0.7);
    expect(original.referenceSegmenterDice?.perSite.siteB).toBeLessThan(0.5);
    expect(histmatch.wasserstein?.relative).toBeLessThan(0.01);
    // validation's MR segmenter: the original against itself is 1; an affine map (z-score) changes no class.
    expect(original.diceVsOriginal?.mean).toBe(1);
    expect(original.consistency).toEqual({ findings: 0, hallucinated: 0, removed: 0, subjectsWithFindings: 0 });
    expect(zscore.diceVsOriginal?.mean).toBeGreaterThan(0.999);
    expect(zscore.diceVsTruth?.mean).toBeCloseTo(original.diceVsTruth?.mean ?? 0, 2);
    expect(original.diceVsTruth?.mean).toBeGreaterThan(0.5);
    expect(Object.keys(original.diceVsTruth?.perClass ?? {})).toEqual(['dark', 'fat', 'soft']);
    // Rank-quantised texture cannot see a monotone map: histmatch leaves its accuracy where it was.
    expect(histmatch.accuracy.texture).toEqual(original.accuracy.texture);
    expect(combat.tissueAccuracy?.accuracy).toBeLessThan(1);
    expect(combat.wasserstein).toBeUndefined();
    expect(r.segmenter?.classes).toEqual(['hypointense', 'soft', 'fat']);
    const png = decodePng(r.histogramPng);
    expect(png.width).toBeGreaterThan(300);
    const text = formatReport(r);
    expect(text).toMatch(/method\s+hist\s+ratio\s+noise\s+sharp\s+bias\s+texture\s+non-tgt\s+tissue/);
    expect(text).toMatch(/method\s+W1\/σ ref\s+Dice vs orig\s+Dice vs truth\s+min site\s+findings\s+ref-seg Dice/);
    expect(text.split('\n').filter((l) => /^(original|zscore|histmatch|combat \(features\))\s/.test(l))).toHaveLength(8);
  });

  it('refuses too few held-out subjects, an unknown reference and cyclegan without its options', async () => {
    const few = subjects.map((s) => ({ ...s, role: s.subjectId.endsWith('-3') ? ('test' as const) : ('train' as const) }));
    await expect(harmonizationReport({ subjects: few, reference: 'siteA', methods: ['zscore'] })).rejects.toThrow(/at least 2 held-out subjects/);
    await expect(harmonizationReport({ subjects, reference: 'siteZ' })).rejects.toThrow(/reference site siteZ has no subjects/);
    await expect(harmonizationReport({ subjects, reference: 'siteA', methods: ['cyclegan'], learnedAnatomy: false })).rejects.toThrow(/needs options\.cyclegan/);
  });
});
