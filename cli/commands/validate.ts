/**
 * `voxshift validate --source MR --synthetic sCT [--reference CT] [--labels L] --report DIR`: did the
 * anatomy survive translation? Reads any supported format, checks that every input is on the
 * source's grid, runs validation/report's validate() (segmentation consistency, image metrics with a
 * reference, per-structure checks with a label map), writes report.json, report.html and the PNG
 * overlays into DIR and prints a short summary.
 *
 * Exit codes: 0 pass, 1 fail (so pipelines can gate on it), 2 bad input (a VoxshiftError, as every
 * command; also missing or unknown options here, so "fail" always means the check failed).
 *
 * Modality: a file that does not say (NIfTI, NRRD, MHA) is taken as CT in HU when it has values
 * at or below −500 in at least 1 % of its voxels (air in HU), else as MR; the synthetic image and
 * the reference default to CT when their file does not say. `--segmenter ct|mr` forces the source's
 * segmenter (and modality); `--segmenter DIR` loads a learned segmenter checkpoint
 * (validation/segment/learned, `voxshift train segmenter`) for the source, mapped to the shared
 * classes stored with it. Every such choice is printed and recorded in the report's notes.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { sameGeometry } from '../../volumes/affine.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { readVolume } from '../../volumes/io.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { initBackend, type BackendKind } from '../../models3d/engine/backend.ts';
import { validate, writeValidationReport } from '../../validation/report/index.ts';
import type { ValidationThresholds } from '../../validation/report/index.ts';
import { ctSegmenter } from '../../validation/segment/ct-segmenter.ts';
import { mrSegmenter } from '../../validation/segment/mr-segmenter.ts';
import type { Segmenter } from '../../validation/segment/segmenter.ts';
import { loadLearnedSegmenter } from '../../validation/segment/learned/index.ts';
import type { LearnedSegmenter } from '../../validation/segment/learned/index.ts';
import type { RegisterCommand } from './index.ts';

interface ValidateCliOptions {
  source?: string;
  synthetic?: string;
  reference?: string;
  labels?: string;
  labelNames?: string;
  report?: string;
  segmenter: string;
  minVolume?: string;
  tolerance?: string;
  opening?: string;
  connectivity?: string;
  minDice?: string;
  maxVolumeChange?: string;
  minClassVolume?: string;
  maxCompositionChange?: string;
  minStructureVolume?: string;
  maxMae?: string;
  maxImages?: string;
  backend: string;
}

function numberOption(name: string, v: string, check: (n: number) => boolean, accepted: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `--${name} must be ${accepted}, got ${JSON.stringify(v)}`, { param: name });
  }
  return n;
}

/** CT if the file says so (modality CT or units HU) or, when it says nothing, if ≥ 1 % of voxels are ≤ −500 (air in HU). */
function looksLikeHu(vol: Volume): boolean {
  let low = 0;
  for (let p = 0; p < vol.data.length; p++) if (vol.data[p] <= -500) low++;
  return low >= 0.01 * vol.data.length;
}

function asModality(vol: Volume, modality: 'CT' | 'MR'): Volume {
  if (modality === 'CT' && vol.modality === 'CT' && vol.meta.units === 'HU') return vol;
  if (modality === 'MR' && vol.modality === 'MR') return vol;
  return deriveVolume(vol, { data: vol.data, modality, meta: { units: modality === 'CT' ? 'HU' : (vol.meta.units === 'HU' ? 'arbitrary' : vol.meta.units) } });
}

async function readInput(path: string, role: string, label = false): Promise<Volume> {
  if (!existsSync(path)) throw new VoxshiftError('FILE_NOT_FOUND', `--${role}: ${path} does not exist`, { file: path, param: role });
  const vol = await readVolume(path, label ? { kind: 'label' } : {});
  if (vol.channels !== 1) throw new VoxshiftError('INVALID_ARGUMENT', `--${role}: ${path} has ${vol.channels} channels; validate needs one`, { file: path, param: role });
  return vol;
}

function sameGridOrThrow(source: Volume, sourcePath: string, other: Volume, otherPath: string, role: string): void {
  if (sameGeometry(source, other)) return;
  const show = (v: Volume): string =>
    `shape ${v.shape.join('×')}, spacing ${v.spacing.map((s) => +s.toFixed(4)).join('×')} mm, origin (${v.origin.map((s) => +s.toFixed(2)).join(', ')})`;
  throw new VoxshiftError(
    'GEOMETRY_MISMATCH',
    `--${role} ${otherPath} (${show(other)}) is not on the grid of --source ${sourcePath} (${show(source)}); resample it onto the source grid first`,
    { param: role, file: otherPath },
  );
}

/** `--label-names`: a JSON object {"1": "spleen", ...} or a text file of "value<TAB or space>name" lines. */
async function readLabelNames(path: string): Promise<Record<number, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VoxshiftError('FILE_NOT_FOUND', `--label-names: cannot read ${path}`, { file: path, param: 'label-names', cause: e });
  }
  const out: Record<number, string> = {};
  const bad = (why: string): never => {
    throw new VoxshiftError('INVALID_ARGUMENT', `--label-names ${path}: ${why}; expected a JSON object {"1": "name", ...} or lines "value name"`, {
      file: path,
      param: 'label-names',
    });
  };
  if (text.trimStart().startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      return bad('not valid JSON');
    }
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (!/^\d+$/.test(k) || typeof v !== 'string') bad(`entry ${JSON.stringify(k)}: ${JSON.stringify(v)} is not value → name`);
      out[Number(k)] = v as string;
    }
    return out;
  }
  for (const line of text.split(/\r?\n/)) {
    const s = line.trim();
    if (s === '' || s.startsWith('#')) continue;
    const m = /^(\d+)[\s,:=]+(.+)$/.exec(s);
    if (!m) bad(`line ${JSON.stringify(s)}`);
    else out[Number(m[1])] = m[2].trim();
  }
  return out;
}

export const registerValidate: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('validate')
    .description('check that a synthetic image kept the anatomy of its source (and matches a reference CT); exit 0 pass, 1 fail, 2 bad input')
    .option('--source <path>', 'the image that was translated (e.g. MR): file, DICOM folder or .zip')
    .option('--synthetic <path>', 'the translated image (e.g. synthetic CT in HU), on the source grid')
    .option('--reference <path>', 'a real image of the target modality (e.g. CT) on the source grid: adds image metrics and a second comparison')
    .option('--labels <path>', 'a label map on the source grid (e.g. TotalSegmentator): per-structure mean HU and composition check')
    .option('--label-names <file>', 'names for --labels values: JSON {"1": "spleen"} or lines "1 spleen"')
    .option('--report <dir>', 'folder for report.json, report.html and the PNG overlays (created if needed)')
    .option('--segmenter <kind>', "the source's segmenter: auto (by modality), ct, mr, or a learned segmenter checkpoint folder", 'auto')
    .option('--min-volume <mm3>', 'smallest finding reported, mm³ (default 200)')
    .option('--tolerance <voxels>', 'border tolerance in voxels, 0..5 (default 2)')
    .option('--opening <voxels>', 'opening of the difference masks in voxels, 0..5 (default 1)')
    .option('--connectivity <n>', 'connectivity of findings: 6, 18 or 26 (default 6)')
    .option('--min-dice <x>', 'fail when a class has Dice below this (default off)')
    .option('--max-volume-change <pct>', 'fail when a class volume changes by more than ± this % (default off)')
    .option('--min-class-volume <mm3>', 'class-level checks apply from this volume, mm³ (default 5000)')
    .option('--max-composition-change <x>', 'flag a labelled structure whose class composition changed by more than this, 0..1 (default 0.5)')
    .option('--min-structure-volume <mm3>', 'judge labelled structures from this volume, mm³ (default 1000)')
    .option('--max-mae <hu>', 'fail when the MAE against --reference is above this, HU (default off)')
    .option('--max-images <n>', 'overlay images for at most this many findings, largest first (default 12)')
    .option('--backend <kind>', 'tfjs backend for a learned segmenter: auto, gpu, cpu or wasm', 'auto')
    .exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') throw err;
      throw new VoxshiftError('INVALID_ARGUMENT', `validate: ${err.message.replace(/^error: /, '')}`, { cause: err });
    })
    .action(async (o: ValidateCliOptions) => {
      const say = (s: string): boolean => process.stderr.write(`${s}\n`);
      for (const k of ['source', 'synthetic', 'report'] as const) {
        if (o[k] === undefined) throw new VoxshiftError('INVALID_ARGUMENT', `--${k} is required (voxshift validate --source MR --synthetic sCT --report DIR)`, { param: k });
      }
      const sourcePath = o.source as string;
      const syntheticPath = o.synthetic as string;
      const reportDir = o.report as string;
      if (existsSync(reportDir) && !statSync(reportDir).isDirectory()) {
        throw new VoxshiftError('INVALID_ARGUMENT', `--report must be a folder, ${reportDir} is a file`, { param: 'report', file: reportDir });
      }
      const thresholds: ValidationThresholds = {};
      const nonNeg = (n: number): boolean => n >= 0;
      const int05 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 5;
      if (o.minVolume !== undefined) thresholds.minVolumeMm3 = numberOption('min-volume', o.minVolume, nonNeg, 'a number ≥ 0');
      if (o.tolerance !== undefined) thresholds.toleranceVoxels = numberOption('tolerance', o.tolerance, int05, 'an integer in 0..5');
      if (o.opening !== undefined) thresholds.openingVoxels = numberOption('opening', o.opening, int05, 'an integer in 0..5');
      if (o.connectivity !== undefined) {
        thresholds.connectivity = numberOption('connectivity', o.connectivity, (n) => n === 6 || n === 18 || n === 26, '6, 18 or 26') as 6 | 18 | 26;
      }
      if (o.minDice !== undefined) thresholds.minDice = numberOption('min-dice', o.minDice, (n) => n >= 0 && n <= 1, 'a number in [0, 1]');
      if (o.maxVolumeChange !== undefined) thresholds.maxVolumeChangePercent = numberOption('max-volume-change', o.maxVolumeChange, nonNeg, 'a number ≥ 0');
      if (o.minClassVolume !== undefined) thresholds.minClassVolumeMm3 = numberOption('min-class-volume', o.minClassVolume, nonNeg, 'a number ≥ 0');
      if (o.maxCompositionChange !== undefined) {
        thresholds.maxCompositionChange = numberOption('max-composition-change', o.maxCompositionChange, (n) => n >= 0 && n <= 1, 'a number in [0, 1]');
      }
      if (o.minStructureVolume !== undefined) thresholds.minStructureMm3 = numberOption('min-structure-volume', o.minStructureVolume, nonNeg, 'a number ≥ 0');
      if (o.maxMae !== undefined) {
        if (o.reference === undefined) throw new VoxshiftError('INVALID_ARGUMENT', '--max-mae needs --reference (the MAE is measured against it)', { param: 'max-mae' });
        thresholds.maxMaeHu = numberOption('max-mae', o.maxMae, nonNeg, 'a number ≥ 0');
      }
      const maxImages = o.maxImages === undefined ? undefined : numberOption('max-images', o.maxImages, (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0');
      if (o.labelNames !== undefined && o.labels === undefined) throw new VoxshiftError('INVALID_ARGUMENT', '--label-names needs --labels', { param: 'label-names' });
      const kind = o.segmenter;
      const isPath = !['auto', 'ct', 'mr'].includes(kind);
      if (isPath && !existsSync(kind)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `--segmenter must be auto, ct, mr or a learned segmenter checkpoint folder; ${JSON.stringify(kind)} is none of them`, {
          param: 'segmenter',
        });
      }

      const notes: string[] = [];
      const note = (s: string): void => {
        notes.push(s);
        say(s);
      };
      let source = await readInput(sourcePath, 'source');
      let synthetic = await readInput(syntheticPath, 'synthetic');
      sameGridOrThrow(source, sourcePath, synthetic, syntheticPath, 'synthetic');
      let reference: Volume | undefined;
      if (o.reference !== undefined) {
        reference = await readInput(o.reference, 'reference');
        sameGridOrThrow(source, sourcePath, reference, o.reference, 'reference');
      }
      let labels: Volume | undefined;
      if (o.labels !== undefined) {
        labels = await readInput(o.labels, 'labels', true);
        sameGridOrThrow(source, sourcePath, labels, o.labels, 'labels');
      }
      const labelNames = o.labelNames !== undefined ? await readLabelNames(o.labelNames) : undefined;

      // modalities: what the file says, else a look at the values
      let sourceSegmenter: Segmenter | undefined;
      let learned: LearnedSegmenter | undefined;
      if (kind === 'ct' || kind === 'mr') {
        source = asModality(source, kind === 'ct' ? 'CT' : 'MR');
        sourceSegmenter = kind === 'ct' ? ctSegmenter() : mrSegmenter();
        note(`source: ${sourceSegmenter.name} segmenter (--segmenter ${kind})`);
      } else {
        const saysCt = source.modality === 'CT' || source.meta.units === 'HU';
        if (!saysCt && source.modality !== 'MR') {
          const ct = looksLikeHu(source);
          source = asModality(source, ct ? 'CT' : 'MR');
          note(`source: the file states no modality; taken as ${ct ? 'CT in HU (≥ 1 % of voxels ≤ −500)' : 'MR (fewer than 1 % of voxels ≤ −500)'}`);
        }
        if (isPath) {
          await initBackend(o.backend as BackendKind, { log: say });
          learned = await loadLearnedSegmenter(kind);
          sourceSegmenter = learned.asSegmenter();
          note(`source: learned segmenter from ${kind} (trained on ${learned.info.modality}, ${learned.info.steps} steps)`);
        }
      }
      for (const [role, vol] of [
        ['synthetic', synthetic],
        ['reference', reference],
      ] as const) {
        if (!vol || vol.modality === 'CT' || vol.meta.units === 'HU' || vol.modality === 'MR') continue;
        const v = asModality(vol, 'CT');
        if (role === 'synthetic') synthetic = v;
        else reference = v;
        note(`${role}: the file states no modality; taken as CT in HU`);
      }

      try {
        const t0 = performance.now();
        const run = validate({
          source,
          synthetic,
          ...(reference ? { reference } : {}),
          ...(labels ? { labels } : {}),
          ...(labelNames ? { labelNames } : {}),
          ...(sourceSegmenter ? { sourceSegmenter } : {}),
          thresholds,
          files: { source: sourcePath, synthetic: syntheticPath, ...(o.reference ? { reference: o.reference } : {}), ...(o.labels ? { labels: o.labels } : {}) },
          notes,
        });
        const written = await writeValidationReport(run, reportDir, maxImages !== undefined ? { maxImages } : {});
        const r = run.report;
        const count = (type: string): number => r.findings.filter((f) => f.type === type).length;
        const lines = [
          `verdict: ${r.verdict.toUpperCase()} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
          `findings: ${r.findings.length} (${count('hallucinated')} hallucinated, ${count('removed')} removed)` +
            (r.findings.length > 0 ? `, largest ${(r.findings[0].volumeMm3 / 1000).toFixed(2)} cm³ ${r.findings[0].type} ${r.findings[0].className}` : ''),
        ];
        if (r.imageMetrics) {
          const m = r.imageMetrics;
          lines.push(
            `against the reference: MAE ${m.maeHu.toFixed(1)} HU, ME ${m.meanErrorHu.toFixed(1)} HU, RMSE ${m.rmseHu.toFixed(1)} HU, PSNR ${m.psnrDb === null ? '∞' : m.psnrDb.toFixed(2)} dB, SSIM ${m.ssim === null ? '—' : m.ssim.toFixed(4)}`,
          );
        }
        if (r.labels) lines.push(`labelled structures: ${r.labels.length}, flagged ${r.labels.filter((s) => s.flagged).length}`);
        for (const reason of r.reasons.slice(0, 10)) lines.push(`  - ${reason}`);
        if (r.reasons.length > 10) lines.push(`  … and ${r.reasons.length - 10} more (report.json)`);
        lines.push(`report: ${written.html}`);
        process.stdout.write(`${lines.join('\n')}\n`);
        if (r.verdict === 'fail') setExitCode(1);
      } finally {
        learned?.dispose();
      }
    });
};
