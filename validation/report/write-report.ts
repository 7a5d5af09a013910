/**
 * Writes a validation run (validate.ts) to a folder: `report.json`, `report.html` and PNGs beside
 * them — `overview.png` (tri-planar through the grid's centre, every finding tinted) and
 * `finding-<id>.png` for the largest `maxImages` findings (tri-planar through the finding's
 * centroid; the rest are listed in the tables only).
 *
 * Panels, left to right: source | synthetic | difference | reference (when given). Source,
 * synthetic and reference are grey through montage.ts's windowFor (CT/HU: [−1000, 1500] HU; MR and
 * other units: the 0.5th–99.5th percentiles of the volume, the same window in every image).
 * Difference: with a reference, synthetic − reference in HU with 0 mid-grey and ±500 HU
 * black/white; without one, the segmentations' disagreement (after the comparison's class
 * mapping): black where both sides agree on 'outside', dark grey where they agree on a tissue,
 * light grey where they disagree, very dark where a side is ignored.
 *
 * The PNGs are separate files referenced by relative paths rather than data URIs: the HTML stays
 * small however many findings there are, each image can be opened, attached or diffed on its own,
 * report.json points at the same files, and the folder as a whole opens offline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { windowFor } from '../../models3d/report/montage.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { IGNORE } from '../segment/segmenter.ts';
import { renderReportHtml } from './report-html.ts';
import { greyPanel, renderOverlay, TINTS } from './overlay.ts';
import type { Overlay, OverlayPanel, OverlayRegion } from './overlay.ts';
import type { ReportFinding, ValidationRun } from './validate.ts';

export interface WriteReportOptions {
  /** Findings drawn (largest first); default 12. */
  maxImages?: number;
  /** Longest tile side in pixels (default 256). */
  maxTilePixels?: number;
}

export interface WrittenReport {
  json: string;
  html: string;
  images: string[];
}

export const DEFAULT_MAX_IMAGES = 12;
/** HU shown black / white in the difference panel (±). */
export const DIFFERENCE_WINDOW_HU = 500;

/** The overlay panels of a run, in column order, with their titles. */
export function reportPanels(run: ValidationRun): OverlayPanel[] {
  const { source, synthetic, reference } = run.volumes;
  const panels: OverlayPanel[] = [greyPanel('source', source, windowFor(source)), greyPanel('synthetic', synthetic, windowFor(synthetic))];
  if (reference) {
    const s = synthetic.data;
    const r = reference.data;
    const k = 127.5 / DIFFERENCE_WINDOW_HU;
    panels.push({
      title: `synthetic − reference (±${DIFFERENCE_WINDOW_HU} HU)`,
      color: (p, out) => {
        const g = Math.max(0, Math.min(255, Math.round(127.5 + (s[p] - r[p]) * k)));
        out[0] = g;
        out[1] = g;
        out[2] = g;
      },
    });
  } else {
    const a = run.maps.segmentations.source.data;
    const b = run.maps.segmentations.synthetic.data;
    const { mapA, mapB } = run.mapping;
    panels.push({
      title: 'segmentation disagreement',
      color: (p, out) => {
        const ca = mapA[a[p]];
        const cb = mapB[b[p]];
        const g = ca === IGNORE || cb === IGNORE ? 20 : ca !== cb ? 200 : ca === 0 ? 0 : 70;
        out[0] = g;
        out[1] = g;
        out[2] = g;
      },
    });
  }
  if (reference) panels.push(greyPanel('reference', reference, windowFor(reference)));
  return panels;
}

export interface OverlayRenderOptions {
  maxTilePixels?: number;
  /** reportPanels(run), when already made (their windows cost a pass over each volume). */
  panels?: OverlayPanel[];
}

function findingRegion(run: ValidationRun, f: ReportFinding): OverlayRegion {
  const map = (f.type === 'hallucinated' ? run.maps.hallucinated : run.maps.removed).data;
  return { has: (p) => map[p] === f.id, tint: TINTS[f.type] };
}

/** The tri-planar overlay of one finding (through its centroid, the finding tinted). */
export function renderFindingOverlay(run: ValidationRun, finding: ReportFinding, options: OverlayRenderOptions = {}): Overlay {
  return renderOverlay(run.maps.hallucinated, options.panels ?? reportPanels(run), {
    centerVoxel: finding.centroidVoxel,
    regions: [findingRegion(run, finding)],
    ...(options.maxTilePixels !== undefined ? { maxTilePixels: options.maxTilePixels } : {}),
  });
}

/** Through the grid's centre, every finding tinted. */
export function renderOverviewOverlay(run: ValidationRun, options: OverlayRenderOptions = {}): Overlay {
  const shape = run.maps.hallucinated.shape;
  const h = run.maps.hallucinated.data;
  const r = run.maps.removed.data;
  return renderOverlay(run.maps.hallucinated, options.panels ?? reportPanels(run), {
    centerVoxel: [(shape[0] - 1) / 2, (shape[1] - 1) / 2, (shape[2] - 1) / 2],
    regions: [
      { has: (p) => h[p] !== 0, tint: TINTS.hallucinated },
      { has: (p) => r[p] !== 0, tint: TINTS.removed },
    ],
    ...(options.maxTilePixels !== undefined ? { maxTilePixels: options.maxTilePixels } : {}),
  });
}

/** See the file comment. Fills run.report.images and each finding's `image`. */
export async function writeValidationReport(run: ValidationRun, dir: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  const maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
  if (!(Number.isInteger(maxImages) && maxImages >= 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `maxImages must be an integer ≥ 0, got ${String(maxImages)}`, { param: 'maxImages' });
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new VoxshiftError('WRITE_FAILED', `cannot create the report folder ${dir}: ${e instanceof Error ? e.message : String(e)}`, { file: dir, cause: e });
  }
  const report = run.report;
  const images: string[] = [];
  const panels = reportPanels(run);
  const tile: OverlayRenderOptions = { panels, ...(options.maxTilePixels !== undefined ? { maxTilePixels: options.maxTilePixels } : {}) };
  const put = async (name: string, data: string | Buffer): Promise<string> => {
    const path = join(dir, name);
    try {
      await writeFile(path, data);
    } catch (e) {
      throw new VoxshiftError('WRITE_FAILED', `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`, { file: path, cause: e });
    }
    return path;
  };
  const overview = renderOverviewOverlay(run, tile);
  images.push(await put('overview.png', overview.png));
  const sizes: Record<string, { width: number; height: number }> = { 'overview.png': { width: overview.width, height: overview.height } };
  let drawn = 0;
  for (const f of report.findings) {
    if (drawn >= maxImages) {
      f.image = null;
      continue;
    }
    const o = renderFindingOverlay(run, f, tile);
    const name = `finding-${f.id}.png`;
    images.push(await put(name, o.png));
    sizes[name] = { width: o.width, height: o.height };
    f.image = name;
    drawn++;
  }
  report.images = { overview: 'overview.png', findings: drawn, omittedFindings: report.findings.length - drawn, maxImages };
  const json = await put('report.json', `${JSON.stringify(report, null, 2)}\n`);
  const html = await put('report.html', renderReportHtml(report, { panelTitles: panels.map((p) => p.title), imageSizes: sizes }));
  return { json, html, images };
}
