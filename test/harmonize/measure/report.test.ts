/**
 * The report on a small cohort (3 sites × 5 subjects on a 32×32×24 grid; 2 for training, 3 held
 * out): every requested row is there, the raw images are told apart by site, harmonisation brings
 * the distributions together and the reference-trained segmenter back to work, ComBat reports on
 * its feature table, and the PNG decodes.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, harmonizationReport, type ExperimentSubject } from '../../../harmonize/measure/report.ts';
import { phantomSiteCohort } from '../../../harmonize/phantom-sites.ts';
import { decodePng } from '../../../volumes/png.ts';

const subjects: ExperimentSubject[] = phantomSiteCohort({ subjects: 5, seed: 21, shape: [32, 32, 24] }).map((s) => ({
  ...s,
  role: Number(s.subjectId.split('-').pop()) < 2 ? 'train' : 'test',
}));

describe('harmonizationReport', () => {
  it('measures every method side by side on the held-out subjects', async () => {
    const r = await harmonizationReport({ subjects, reference: 'siteA', methods: ['zscore', 'histmatch', 'combat'], classifier: { repeats: 2 } });
    expect(r.sites).toEqual(['siteA', 'siteB', 'siteC']);
    expect(r.subjects).toEqual({ train: { siteA: 2, siteB: 2, siteC: 2 }, test: { siteA: 3, siteB: 3, siteC: 3 } });
    expect(r.chance).toBeCloseTo(1 / 3, 12);
    expect(r.rows.map((x) => [x.method, x.level])).toEqual([
      ['original', 'image'],
      ['zscore', 'image'],
      ['histmatch', 'image'],
      ['combat', 'features'],
    ]);
    const [original, zscore, histmatch, combat] = r.rows;
    // Raw sites are told apart; their intensity scales differ by far more than the reference's spread.
    expect(original.histogramAccuracy?.accuracy).toBe(1);
    expect(original.tissueAccuracy?.accuracy).toBe(1);
    expect(original.wasserstein?.relative).toBeGreaterThan(1);
    expect(Object.keys(original.wasserstein?.pairs ?? {})).toEqual(['siteA|siteB', 'siteA|siteC', 'siteB|siteC']);
    // Harmonized: distributions close, the reference-trained segmenter works on every site.
    for (const row of [zscore, histmatch]) {
      expect(row.wasserstein?.relative).toBeLessThan(0.2 * (original.wasserstein?.relative ?? 0));
      expect(row.diceVsTruth?.mean).toBeGreaterThan((original.diceVsTruth?.mean ?? 1) + 0.2);
      expect(Math.min(...Object.values(row.diceVsTruth?.perSite ?? {}))).toBeGreaterThan(0.7);
      expect(row.diceVsOriginal?.mean).toBeGreaterThan(0.8);
    }
    expect(zscore.diceVsOriginal?.mean).toBe(1);
    expect(histmatch.wasserstein?.relative).toBeLessThan(0.01);
    expect(original.diceVsTruth?.perSite.siteA).toBeGreaterThan(0.7);
    expect(original.diceVsTruth?.perSite.siteB).toBeLessThan(0.5);
    expect(combat.tissueAccuracy?.accuracy).toBeLessThan(1);
    expect(combat.wasserstein).toBeUndefined();
    expect(r.segmenter?.classes).toEqual(['hypointense', 'soft', 'fat']);
    const png = decodePng(r.histogramPng);
    expect(png.width).toBeGreaterThan(300);
    const text = formatReport(r);
    expect(text).toMatch(/method\s+W1\/σ ref\s+site acc \(hist\)\s+site acc \(tissue\)\s+Dice vs truth\s+Dice vs orig/);
    expect(text.split('\n').filter((l) => /^(original|zscore|histmatch|combat \(features\))\s/.test(l))).toHaveLength(4);
  });

  it('refuses too few held-out subjects, an unknown reference and cyclegan without its options', async () => {
    const few = subjects.map((s) => ({ ...s, role: s.subjectId.endsWith('-4') ? ('test' as const) : ('train' as const) }));
    await expect(harmonizationReport({ subjects: few, reference: 'siteA', methods: ['zscore'] })).rejects.toThrow(/at least 2 held-out subjects/);
    await expect(harmonizationReport({ subjects, reference: 'siteZ' })).rejects.toThrow(/reference site siteZ has no subjects/);
    await expect(harmonizationReport({ subjects, reference: 'siteA', methods: ['cyclegan'] })).rejects.toThrow(/needs options\.cyclegan/);
  });
});
