/**
 * The HTML page of a validation report: one self-contained file (inline CSS, no script, no
 * external URL) whose only references are the report's PNGs beside it, by relative path. Sections:
 * verdict and reasons, flagged regions (`#findings`: an overlay per drawn finding, then a table of
 * every finding), labelled structures, image metrics, per-class comparison, overview, and the
 * thresholds, inputs and notes the run used.
 */
import type { ClassComparison } from '../consistency/check-consistency.ts';
import type { ReportComparison, ReportFinding, ValidationReport } from './validate.ts';

export interface ReportHtmlOptions {
  /** Column titles of the overlays, left to right. */
  panelTitles: string[];
  /** Pixel size of each image, by file name (for width/height attributes). */
  imageSizes?: Record<string, { width: number; height: number }>;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function vec(v: readonly number[], digits = 1): string {
  return `(${v.map((x) => num(x, digits)).join(', ')})`;
}

function table(head: string[], rows: string[][], rowClass?: (i: number) => string): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r, i) => `<tr${rowClass?.(i) ? ` class="${rowClass(i)}"` : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function img(name: string, alt: string, sizes: ReportHtmlOptions['imageSizes']): string {
  const s = sizes?.[name];
  const dims = s ? ` width="${s.width}" height="${s.height}"` : '';
  return `<img src="${escapeHtml(name)}" alt="${escapeHtml(alt)}"${dims}>`;
}

function findingTitle(f: ReportFinding): string {
  return `#${f.id} ${f.type} ${f.className} — ${num(f.volumeMm3 / 1000, 2)} cm³ at ${vec(f.centroidWorld)} mm LPS`;
}

function classTable(c: ReportComparison): string {
  const rows = c.classes.map((k: ClassComparison) => [
    escapeHtml(k.name),
    num(k.dice, 3),
    num(k.baselineMm3 / 1000, 2),
    num(k.syntheticMm3 / 1000, 2),
    k.volumeChangePercent === null ? '—' : `${num(k.volumeChangePercent)} %`,
  ]);
  return (
    `<h3>against the ${c.against} (${escapeHtml(c.segmenters.baseline)} vs ${escapeHtml(c.segmenters.synthetic)})</h3>` +
    table(['class', 'Dice', `${c.against} cm³`, 'synthetic cm³', 'volume change'], rows) +
    `<p class="small">Mapping: ${escapeHtml(c.mappingRules.join('; ') || 'none needed')}. Ignored voxels: ${c.ignoredVoxels}. Differences below the size limit: ${c.dropped.count} (largest ${num(c.dropped.largestMm3, 0)} mm³).</p>`
  );
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccd;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
.verdict{display:inline-block;padding:4px 14px;border-radius:4px;font-weight:700;color:#fff;letter-spacing:.05em}
.verdict.pass{background:#1e7d34}.verdict.fail{background:#b3261e}
table{border-collapse:collapse;background:#fff;margin:6px 0}th,td{border:1px solid #d5d8de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#e9ebef}tr.flagged td{background:#fde7e5}
figure{background:#fff;border:1px solid #d5d8de;margin:12px 0;padding:10px;display:inline-block}
figure img{display:block;image-rendering:pixelated;max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:6px}.small{font-size:12px;color:#4a5160}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.hallucinated{background:#ff2828}.removed{background:#00c8ff}
code{background:#e9ebef;padding:0 3px}
`;

/** See the file comment. */
export function renderReportHtml(report: ValidationReport, options: ReportHtmlOptions): string {
  const sizes = options.imageSizes;
  const columns = escapeHtml(options.panelTitles.join(' | '));
  const parts: string[] = [];
  parts.push(
    `<h1>voxshift validation report <span class="verdict ${report.verdict}" id="verdict">${report.verdict.toUpperCase()}</span></h1>`,
    `<p class="small">voxshift ${escapeHtml(report.voxshiftVersion)}, report format ${report.format} v${report.version}, ${escapeHtml(report.createdAt)}</p>`,
  );
  parts.push(
    report.reasons.length > 0
      ? `<h2>Reasons</h2><ul id="reasons">${report.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
      : '<p id="reasons">No finding, no flagged structure, every threshold met.</p>',
  );

  // flagged regions
  parts.push('<section id="findings"><h2>Flagged regions</h2>');
  if (report.findings.length === 0) {
    parts.push('<p>No region was flagged: no anatomy hallucinated or removed above the size limit.</p>');
  } else {
    parts.push(
      `<p class="legend">${report.findings.length} finding(s), largest first. Each image: rows axial, coronal, sagittal through the finding's centroid; columns ${columns}.` +
        `<span class="hallucinated"></span>hallucinated<span class="removed"></span>removed</p>`,
    );
    for (const f of report.findings) {
      if (!f.image) continue;
      parts.push(`<figure class="finding" data-type="${f.type}" id="finding-${f.id}"><figcaption>${escapeHtml(findingTitle(f))}</figcaption>${img(f.image, findingTitle(f), sizes)}</figure>`);
    }
    if (report.images.omittedFindings > 0) {
      parts.push(`<p>${report.images.omittedFindings} smaller finding(s) are not drawn (at most ${report.images.maxImages ?? '—'} images); they are in the table.</p>`);
    }
    const rows = report.findings.map((f) => [
      String(f.id),
      `<span class="${f.type}">&nbsp;</span> ${f.type}`,
      escapeHtml(f.className),
      escapeHtml(f.otherClassName),
      f.against,
      num(f.volumeMm3, 0),
      vec(f.centroidWorld),
      `${vec(f.bbox.min, 0)}–${vec(f.bbox.max, 0)}`,
      `axis ${f.slice.axis}, slice ${f.slice.index}`,
      f.image ? `<a href="${escapeHtml(f.image)}">${escapeHtml(f.image)}</a>` : 'not drawn',
    ]);
    parts.push(table(['id', 'type', 'class', 'other side shows', 'against', 'mm³', 'centroid (mm, LPS)', 'bbox (voxels)', 'look at', 'image'], rows));
  }
  parts.push('</section>');

  if (report.labels) {
    const t = report.thresholds;
    const rows = report.labels.map((s) => [
      String(s.label),
      escapeHtml(s.name ?? ''),
      num(s.volumeMm3 / 1000, 2),
      num(s.meanSynthetic),
      num(s.meanReference),
      num(s.maeReference),
      escapeHtml(`${s.dominant.source ?? '—'} → ${s.dominant.synthetic ?? '—'}`),
      num(s.compositionChange, 2),
      s.flagged ? 'FLAGGED' : '',
    ]);
    parts.push(
      '<section id="labels"><h2>Labelled structures</h2>',
      `<p class="small">Composition change = total variation distance between the shared-class fractions of the source and synthetic segmentations inside the structure; flagged above ${t.maxCompositionChange} for structures of at least ${t.minStructureMm3} mm³.</p>`,
      table(['label', 'name', 'cm³', 'synthetic mean', 'reference mean', 'MAE vs reference', 'dominant class', 'composition change', ''], rows, (i) =>
        report.labels?.[i].flagged ? 'flagged' : '',
      ),
      '</section>',
    );
  }

  const m = report.imageMetrics;
  if (m) {
    parts.push(
      '<section id="metrics"><h2>Image metrics against the reference</h2>',
      table(
        ['MAE (HU)', 'mean error (HU)', 'RMSE (HU)', `PSNR (dB, [${m.dataRangeHu.join(', ')}] HU)`, 'SSIM (3-D)', 'masked SSIM', 'mask voxels'],
        [[num(m.maeHu), num(m.meanErrorHu), num(m.rmseHu), m.psnrDb === null ? '∞' : num(m.psnrDb, 2), num(m.ssim, 4), num(m.maskedSsim, 4), String(m.maskVoxels)]],
      ),
      '<h3>MAE per tissue class of the reference</h3>',
      table(
        ['class', 'voxels', 'MAE (HU)', 'mean error (HU)'],
        m.tissueMae.map((r) => [escapeHtml(r.name), String(r.voxels), num(r.maeHu), num(r.meanErrorHu)]),
      ),
      m.notes.length > 0 ? `<p class="small">${m.notes.map(escapeHtml).join('<br>')}</p>` : '',
      '</section>',
    );
  }

  parts.push('<section id="classes"><h2>Per-class comparison</h2>', classTable(report.consistency.source));
  if (report.consistency.reference) parts.push(classTable(report.consistency.reference));
  parts.push('</section>');

  if (report.images.overview) {
    parts.push(
      '<section id="overview"><h2>Overview</h2>',
      `<figure><figcaption>Through the centre of the grid; columns ${columns}${report.findings.length > 0 ? '; every finding tinted' : ''}.</figcaption>${img(report.images.overview, 'overview', sizes)}</figure>`,
      '</section>',
    );
  }

  const inputRows = (['source', 'synthetic', 'reference', 'labels'] as const).flatMap((k) => {
    const i = report.inputs[k];
    return i ? [[k, escapeHtml(i.file ?? '(in memory)'), escapeHtml(i.modality), escapeHtml(i.units ?? '—'), i.shape.join('×'), i.spacing.map((s) => num(s, 3)).join(' × ')]] : [];
  });
  parts.push(
    '<section id="details"><h2>Inputs, segmenters and thresholds</h2>',
    table(['role', 'file', 'modality', 'units', 'shape', 'spacing (mm)'], inputRows),
    `<p>Segmenters: source <code>${escapeHtml(report.segmenters.source)}</code>, synthetic <code>${escapeHtml(report.segmenters.synthetic)}</code>${report.segmenters.reference ? `, reference <code>${escapeHtml(report.segmenters.reference)}</code>` : ''}.</p>`,
    table(
      ['threshold', 'value'],
      Object.entries(report.thresholds).map(([k, v]) => [escapeHtml(k), escapeHtml(v === null ? 'off' : String(v))]),
    ),
    report.notes.length > 0 ? `<h3>Notes</h3><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '',
    '<p class="small">All numbers are in report.json beside this page.</p>',
    '</section>',
  );

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>voxshift validation: ${report.verdict.toUpperCase()}</title>
<style>${CSS}</style>
</head>
<body><main>
${parts.join('\n')}
</main></body>
</html>
`;
}
