/**
 * validate() + writeValidationReport on a head phantom: the T1w MR against its own CT (untouched:
 * pass, no finding, an untinted overview) and against the CT with a 2 cm³ bone fragment painted into
 * the brain (fail; the finding at the fragment; JSON fields; PNGs decode at the layout's size and
 * are tinted at the finding), the image-metric and label sections with a reference, and the cap on
 * images.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../../volumes/png.ts';
import { bodyMask } from '../../../validation/masks.ts';
import { mrSegmenter } from '../../../validation/segment/mr-segmenter.ts';
import { DEFAULT_VALIDATION_THRESHOLDS, renderFindingOverlay, REPORT_FORMAT, REPORT_VERSION, TINTS, validate, writeValidationReport } from '../../../validation/report/index.ts';
import type { ValidationReport, ValidationRun } from '../../../validation/report/index.ts';
import { PAIR_SHAPE, PAIR_SPACING, phantomPair } from './phantom-pair.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'voxshift-report-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function pixel(png: ReturnType<typeof decodePng>, x: number, y: number): [number, number, number] {
  const o = (y * png.width + x) * 4;
  return [png.rgba[o], png.rgba[o + 1], png.rgba[o + 2]];
}

/** The overlay size the layout gives: tiles of the longest extent / 256 mm per pixel, 4 px gaps, 3 rows. */
function expectedSize(panels: number): { width: number; height: number } {
  const extent = PAIR_SHAPE.map((n, a) => n * PAIR_SPACING[a]);
  const pixelMm = Math.max(Math.min(...PAIR_SPACING) / 4, Math.max(...extent) / 256);
  const tile = (u: number, v: number): [number, number] => [Math.round(extent[u] / pixelMm), Math.round(extent[v] / pixelMm)];
  const tiles = [tile(0, 1), tile(0, 2), tile(1, 2)];
  const cellW = Math.max(...tiles.map((t) => t[0]));
  const cellH = Math.max(...tiles.map((t) => t[1]));
  return { width: 4 + panels * (cellW + 4), height: 4 + 3 * (cellH + 4) };
}

describe('validation report on a phantom pair', () => {
  const pair = phantomPair();
  const mr = mrSegmenter();
  let bad: ValidationRun;
  let good: ValidationRun;
  let badDir: string;
  let goodDir: string;
  beforeAll(async () => {
    bad = validate({ source: pair.source, synthetic: pair.injected, sourceSegmenter: mr });
    good = validate({ source: pair.source, synthetic: pair.clean, sourceSegmenter: mr });
    badDir = tmp();
    goodDir = join(tmp(), 'nested', 'report');
    await writeValidationReport(bad, badDir);
    await writeValidationReport(good, goodDir);
  }, 60_000);

  it('fails the injected pair with the fragment as a finding, all fields in report.json', () => {
    const r: ValidationReport = JSON.parse(readFileSync(join(badDir, 'report.json'), 'utf8'));
    expect(r.format).toBe(REPORT_FORMAT);
    expect(r.version).toBe(REPORT_VERSION);
    expect(r.verdict).toBe('fail');
    expect(r.consistency.verdict).toBe('fail');
    expect(r.thresholds).toEqual(DEFAULT_VALIDATION_THRESHOLDS);
    expect(r.inputs.source.modality).toBe('MR');
    expect(r.inputs.synthetic.shape).toEqual([...PAIR_SHAPE]);
    expect(r.inputs.reference).toBeNull();
    expect(r.imageMetrics).toBeNull();
    expect(r.labels).toBeNull();
    expect(r.segmenters).toEqual({ source: mr.name, synthetic: 'ct-hu', reference: null });
    const f = r.findings.find((x) => x.type === 'hallucinated');
    expect(f).toBeDefined();
    if (!f) return;
    const d = Math.hypot(...f.centroidWorld.map((c, a) => c - pair.fragment.world[a]));
    expect(d).toBeLessThan(2);
    expect(f.volumeMm3).toBeGreaterThan(1000);
    expect(f.volumeMm3).toBeLessThan(3000);
    expect(f.bbox.min.every((v, a) => v <= pair.fragment.voxel[a] && f.bbox.max[a] >= pair.fragment.voxel[a])).toBe(true);
    expect(f.slice.axis).toBe(2);
    expect(Math.abs(f.slice.index - pair.fragment.voxel[2])).toBeLessThanOrEqual(1);
    expect(f.image).toBe(`finding-${f.id}.png`);
    // findings largest first, every one listed in the reasons
    expect(r.findings.map((x) => x.volumeMm3)).toEqual([...r.findings.map((x) => x.volumeMm3)].sort((a, b) => b - a));
    expect(r.reasons.length).toBe(r.findings.length);
    expect(r.consistency.source.findingIds.sort()).toEqual(r.findings.map((x) => x.id).sort());
    expect(r.images).toEqual({ overview: 'overview.png', findings: r.findings.length, omittedFindings: 0, maxImages: 12 });
  });

  it('draws each finding tri-planar at the expected size, tinted at the finding and grey elsewhere', () => {
    const r = bad.report;
    const f = r.findings.find((x) => x.type === 'hallucinated');
    if (!f?.image) throw new Error('no drawn finding');
    const png = decodePng(readFileSync(join(badDir, f.image)));
    expect({ width: png.width, height: png.height }).toEqual(expectedSize(3));
    const o = renderFindingOverlay(bad, f);
    expect(o.width).toBe(png.width);
    for (const view of ['axial', 'coronal', 'sagittal'] as const) {
      for (const panel of [0, 1, 2]) {
        const [x, y] = o.pixelOf(view, panel, pair.fragment.voxel);
        const [red, green, blue] = pixel(png, x, y);
        expect(red - green, `${view} panel ${panel}`).toBeGreaterThan(60);
        expect(red - blue).toBeGreaterThan(60);
      }
    }
    // a voxel 30 mm away in the brain is plain grey
    const far: [number, number, number] = [pair.fragment.voxel[0] + 15, pair.fragment.voxel[1], pair.fragment.voxel[2]];
    const [x, y] = o.pixelOf('axial', 1, far);
    const [a, b, c] = pixel(png, x, y);
    expect(a).toBe(b);
    expect(b).toBe(c);
    // removed findings are cyan
    const removed = r.findings.find((x) => x.type === 'removed');
    if (removed?.image) {
      const rp = decodePng(readFileSync(join(badDir, removed.image)));
      const ro = renderFindingOverlay(bad, removed);
      const [px, py] = ro.pixelOf('axial', 0, removed.centroidVoxel.map(Math.round));
      const [cr, , cb] = pixel(rp, px, py);
      expect(cb - cr).toBeGreaterThan(60);
      expect(TINTS.removed[2]).toBeGreaterThan(TINTS.removed[0]);
    }
  });

  it('passes the untouched pair: no finding, an overview without tint, html without findings', () => {
    const r: ValidationReport = JSON.parse(readFileSync(join(goodDir, 'report.json'), 'utf8'));
    expect(r.verdict).toBe('pass');
    expect(r.reasons).toEqual([]);
    expect(r.findings).toEqual([]);
    expect(r.images).toEqual({ overview: 'overview.png', findings: 0, omittedFindings: 0, maxImages: 12 });
    const png = decodePng(readFileSync(join(goodDir, 'overview.png')));
    expect({ width: png.width, height: png.height }).toEqual(expectedSize(3));
    let tinted = 0;
    let bright = 0;
    for (let p = 0; p < png.width * png.height; p++) {
      const [a, b, c] = [png.rgba[4 * p], png.rgba[4 * p + 1], png.rgba[4 * p + 2]];
      if (a !== b || b !== c) tinted++;
      if (a > 100) bright++;
    }
    expect(tinted).toBe(0);
    expect(bright).toBeGreaterThan(1000);
    const html = readFileSync(join(goodDir, 'report.html'), 'utf8');
    expect(html).toContain('No region was flagged');
    expect(html).toContain('<img src="overview.png"');
    expect(existsSync(join(goodDir, 'finding-1.png'))).toBe(false);
  });

  it('keeps the html self-contained: inline css, no script, no URL, only the PNGs beside it', () => {
    const html = readFileSync(join(badDir, 'report.html'), 'utf8');
    expect(html).toMatch(/<style>[^<]+<\/style>/);
    expect(html).not.toMatch(/<script|<link|https?:\/\/|url\(/i);
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs.sort()).toEqual(['overview.png', ...bad.report.findings.map((f) => `finding-${f.id}.png`)].sort());
    for (const s of srcs) expect(existsSync(join(badDir, s))).toBe(true);
    expect(html).toContain('id="findings"');
    expect(html).toContain('class="verdict fail"');
  });

  it('caps the images at maxImages (largest first), the rest only in the table', async () => {
    const dir = tmp();
    const copy: ValidationRun = { ...bad, report: structuredClone(bad.report) };
    expect(copy.report.findings.length).toBeGreaterThanOrEqual(2);
    await writeValidationReport(copy, dir, { maxImages: 1 });
    const r: ValidationReport = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(r.images.findings).toBe(1);
    expect(r.images.omittedFindings).toBe(r.findings.length - 1);
    expect(r.findings[0].image).toBe(`finding-${r.findings[0].id}.png`);
    expect(r.findings.slice(1).every((f) => f.image === null)).toBe(true);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('not drawn');
    expect([...html.matchAll(/<img /g)].length).toBe(2);
    await expect(writeValidationReport(copy, dir, { maxImages: -1 })).rejects.toThrow(/maxImages/);
  });

  it('with a reference and labels: image metrics, four panels, per-label means and no flagged structure away from the fragment', async () => {
    const run = validate({ source: pair.source, synthetic: pair.injected, reference: pair.clean, labels: pair.phantom.labels, sourceSegmenter: mr });
    const m = run.report.imageMetrics;
    if (!m) throw new Error('no image metrics');
    const body = bodyMask(pair.clean).data;
    let abs = 0;
    let n = 0;
    for (let p = 0; p < body.length; p++) {
      if (!body[p]) continue;
      abs += Math.abs(pair.injected.data[p] - pair.clean.data[p]);
      n++;
    }
    expect(m.maskVoxels).toBe(n);
    expect(m.maeHu).toBeCloseTo(abs / n, 6);
    expect(m.meanErrorHu).toBeCloseTo(abs / n, 6); // the fragment only adds HU
    expect(m.psnrDb).toBeGreaterThan(20);
    expect(m.ssim).toBeGreaterThan(0.9);
    expect(m.ssim).toBeLessThan(1);
    expect(m.tissueMae.map((t) => t.name)).toContain('soft');
    expect(run.report.consistency.reference?.against).toBe('reference');
    expect(run.report.findings.some((f) => f.against === 'reference' && f.type === 'hallucinated')).toBe(true);
    const labels = run.report.labels;
    if (!labels) throw new Error('no labels section');
    const wm = labels.find((s) => s.label === 5);
    let sum = 0;
    let count = 0;
    for (let p = 0; p < body.length; p++) {
      if (pair.phantom.labels.data[p] !== 5) continue;
      sum += pair.injected.data[p];
      count++;
    }
    expect(wm?.voxels).toBe(count);
    expect(wm?.meanSynthetic).toBeCloseTo(sum / count, 4);
    expect(wm?.meanReference).not.toBeNull();
    expect(labels.filter((s) => s.flagged)).toEqual([]);
    const dir = tmp();
    await writeValidationReport(run, dir);
    const f = run.report.findings[0];
    if (!f.image) throw new Error('no image');
    const png = decodePng(readFileSync(join(dir, f.image)));
    expect({ width: png.width, height: png.height }).toEqual(expectedSize(4));
  }, 30_000);
});
