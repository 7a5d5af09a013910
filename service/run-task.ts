/**
 * What a job worker runs, one function per job kind. Every kind writes into the job's folder
 * (`outDir`) under fixed names, each file written to a temporary name and renamed:
 *
 * - translate: result.nii.gz, difference.nii.gz (z-scored result − z-scored source: the two are in
 *   different units), source.nii.gz when the upload is not NIfTI (for the viewer); with
 *   `validate: true` also the validation report (below) of source vs result;
 * - harmonize: result.nii.gz, difference.nii.gz (result − source, the same units), source.nii.gz as above;
 * - augment: result.zip (images/, labels/ when a label map was given, manifest.jsonl, augment.json);
 * - validate: the validation report, and source.nii.gz / synthetic.nii.gz when those inputs are not NIfTI.
 *
 * The validation report is validation/report's: report/report.json, report/report.html and its PNG
 * overlays (validate() + writeValidationReport), plus findings.nii.gz: each flagged region's finding
 * id (hallucinated first where two overlap), for the viewer's overlay.
 * Progress goes to `report(progress 0–1, { stage, done?, total? })`.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { buildPipeline, pipelineName, sampleName, sampleSeed } from '../augment/export/sample.ts';
import type { PipelineSource } from '../augment/export/sample.ts';
import { createSubject } from '../augment/subject.ts';
import { openHarmonizer } from '../harmonize/harmonizer.ts';
import { loadHarmonizerModel } from '../harmonize/model.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { chooseRuntime, loadTranslator, translate, type Direction, type Runtime, type Translator } from '../models3d/inference/translate.ts';
import { validate } from '../validation/report/validate.ts';
import { writeValidationReport } from '../validation/report/write-report.ts';
import { ctSegmenter } from '../validation/segment/ct-segmenter.ts';
import { mrSegmenter } from '../validation/segment/mr-segmenter.ts';
import type { Segmenter } from '../validation/segment/segmenter.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { readVolume, writeVolume } from '../volumes/io.ts';
import { createRng } from '../volumes/random.ts';
import { deriveVolume, type Modality, type Volume } from '../volumes/volume.ts';
import type { AugmentParams, ProgressDetail, ValidateParams, Verdict } from './schemas.ts';

interface TaskBase {
  jobId: string;
  outDir: string;
  threads?: number;
}
export interface TranslateTask extends TaskBase {
  kind: 'translate';
  input: string;
  modelDir: string;
  params: { direction?: Direction; runtime?: Runtime | 'auto'; allowModalityMismatch?: boolean; overlap?: number; validate?: boolean };
}
export interface HarmonizeTask extends TaskBase {
  kind: 'harmonize';
  input: string;
  modelPath: string;
  params: { site?: string };
}
export interface AugmentTask extends TaskBase {
  kind: 'augment';
  input: string;
  /** The input's name, recorded in the manifest. */
  inputName: string;
  label?: string;
  labelName?: string;
  params: AugmentParams;
}
export interface ValidateTask extends TaskBase {
  kind: 'validate';
  source: string;
  synthetic: string;
  reference?: string;
  params: ValidateParams;
}
export type WorkerTask = TranslateTask | HarmonizeTask | AugmentTask | ValidateTask;

export interface TaskSummary {
  /** The main result file (a name in outDir) and its format. */
  result: { file: string; format: 'nifti' | 'zip' | 'report'; modality?: string };
  /** Every file written to outDir. */
  files: string[];
  verdict?: Verdict;
}

export type Report = (progress: number, detail: ProgressDetail) => void;

export interface TaskOutput {
  warnings: { code: string; message: string }[];
  summary: TaskSummary;
}

const isNifti = (path: string): boolean => /\.nii(\.gz)?$/i.test(path);

async function writeAtomic(vol: Volume, path: string): Promise<void> {
  const tmp = path.replace(/\.nii\.gz$/, '.partial.nii.gz');
  await writeVolume(vol, tmp, { overwrite: true });
  await rename(tmp, path);
}

async function writeBytesAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

function zScored(v: Volume): Float32Array {
  const d = v.data;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < d.length; i++) {
    sum += d[i];
    sq += d[i] * d[i];
  }
  const mean = sum / d.length;
  const std = Math.sqrt(Math.max(sq / d.length - mean * mean, 0)) || 1;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = (d[i] - mean) / std;
  return out;
}

/** result − source (same units) or their z-scores' difference (different units). */
function difference(source: Volume, result: Volume, sameUnits: boolean): Volume<Float32Array> {
  const a = sameUnits ? source.data : zScored(source);
  const b = sameUnits ? result.data : zScored(result);
  const out = new Float32Array(b.length);
  for (let i = 0; i < out.length; i++) out[i] = b[i] - a[i];
  return deriveVolume(result, { data: out, kind: 'intensity' });
}

const translators = new Map<string, Translator>();

async function translator(task: TranslateTask): Promise<Translator> {
  const direction = task.params.direction ?? 'AtoB';
  const runtime = task.params.runtime ?? 'auto';
  const key = `${task.modelDir}\0${direction}\0${runtime}`;
  const cached = translators.get(key);
  if (cached) return cached;
  if ((await chooseRuntime(task.modelDir, direction, runtime)) === 'tfjs') await initBackend('auto');
  const t = await loadTranslator(task.modelDir, direction, { runtime, ...(task.threads !== undefined ? { threads: task.threads } : {}) });
  // A few models at most are kept; the oldest goes first.
  if (translators.size >= 4) {
    const [oldKey, old] = translators.entries().next().value as [string, Translator];
    old.dispose();
    translators.delete(oldKey);
  }
  translators.set(key, t);
  return t;
}

function segmenterFor(modality: Modality, param: string): Segmenter {
  if (modality === 'CT') return ctSegmenter();
  if (modality === 'MR') return mrSegmenter();
  throw new VoxshiftError('INVALID_ARGUMENT', `${param} has modality ${modality}; the consistency check segments MR and CT only (set params.modalities.${param})`, { param: `params.modalities.${param}` });
}

/** The report folder in a job's folder and its files (relative to the job's folder). */
export const REPORT_DIR = 'report';

/** Runs validation/report's validate() and writes its report and findings.nii.gz; returns the verdict and the files. */
async function validationReport(
  outDir: string,
  inputs: { source: Volume; synthetic: Volume; reference?: Volume },
  modalities: { source: Modality; synthetic: Modality; reference?: Modality },
  thresholds: ValidateParams['thresholds'],
  files: { source?: string; synthetic?: string; reference?: string },
): Promise<{ verdict: Verdict; files: string[] }> {
  const run = validate({
    source: inputs.source,
    synthetic: inputs.synthetic,
    sourceSegmenter: segmenterFor(modalities.source, 'source'),
    syntheticSegmenter: segmenterFor(modalities.synthetic, 'synthetic'),
    ...(inputs.reference ? { reference: inputs.reference, referenceSegmenter: segmenterFor(modalities.reference ?? 'CT', 'reference') } : {}),
    ...(thresholds ? { thresholds } : {}),
    files,
  });
  const ids = new Int16Array(run.maps.hallucinated.data.length);
  for (let i = 0; i < ids.length; i++) ids[i] = run.maps.hallucinated.data[i] || run.maps.removed.data[i];
  await writeAtomic(deriveVolume(run.maps.hallucinated, { data: ids, kind: 'label' }), join(outDir, 'findings.nii.gz'));
  const written = await writeValidationReport(run, join(outDir, REPORT_DIR));
  const rel = [written.json, written.html, ...written.images].map((p) => `${REPORT_DIR}/${basename(p)}`);
  const r = run.report;
  return { verdict: { verdict: r.verdict, reasons: r.reasons, findings: r.findings.length }, files: [...new Set(rel), 'findings.nii.gz'] };
}

async function runTranslate(task: TranslateTask, report: Report): Promise<TaskOutput> {
  report(0.02, { stage: 'reading' });
  const vol = await readVolume(task.input);
  const t = await translator(task);
  report(0.1, { stage: 'translating', done: 0 });
  const validate = task.params.validate === true;
  const span = validate ? 0.6 : 0.8;
  const out = await translate(vol, t, {
    ...(task.params.allowModalityMismatch ? { allowModalityMismatch: true } : {}),
    ...(task.params.overlap !== undefined ? { overlap: task.params.overlap } : {}),
    onProgress: (d, n) => report(0.1 + span * (n > 0 ? d / n : 1), { stage: 'translating', done: d, total: n }),
  });
  report(0.1 + span, { stage: 'writing' });
  const files = ['result.nii.gz', 'difference.nii.gz'];
  await writeAtomic(out, join(task.outDir, 'result.nii.gz'));
  await writeAtomic(difference(vol, out, false), join(task.outDir, 'difference.nii.gz'));
  if (!isNifti(task.input)) {
    await writeAtomic(vol, join(task.outDir, 'source.nii.gz'));
    files.push('source.nii.gz');
  }
  let verdict: Verdict | undefined;
  if (validate) {
    report(0.1 + span + 0.05, { stage: 'validating' });
    const srcModality = vol.modality !== 'unknown' ? vol.modality : t.source.modality;
    const v = await validationReport(task.outDir, { source: vol, synthetic: out }, { source: srcModality, synthetic: t.target.modality }, undefined, {
      source: basename(task.input),
      synthetic: 'result.nii.gz',
    });
    verdict = v.verdict;
    files.push(...v.files);
  }
  return {
    warnings: [...vol.meta.warnings, ...out.meta.warnings].map((w) => ({ code: w.code, message: w.message })),
    summary: { result: { file: 'result.nii.gz', format: 'nifti', modality: t.target.modality }, files, ...(verdict ? { verdict } : {}) },
  };
}

async function runHarmonize(task: HarmonizeTask, report: Report): Promise<TaskOutput> {
  report(0.05, { stage: 'reading' });
  const model = await loadHarmonizerModel(task.modelPath);
  const vol = await readVolume(task.input);
  if (model.method === 'cyclegan') await initBackend('auto');
  const h = openHarmonizer(model, { baseDir: dirname(resolve(task.modelPath)) });
  let out: Volume<Float32Array>;
  try {
    report(0.2, { stage: 'harmonizing' });
    out = await h.apply(vol, task.params.site !== undefined ? { site: task.params.site } : {});
  } finally {
    h.dispose();
  }
  report(0.85, { stage: 'writing' });
  const files = ['result.nii.gz', 'difference.nii.gz'];
  await writeAtomic(out, join(task.outDir, 'result.nii.gz'));
  await writeAtomic(difference(vol, out, true), join(task.outDir, 'difference.nii.gz'));
  if (!isNifti(task.input)) {
    await writeAtomic(vol, join(task.outDir, 'source.nii.gz'));
    files.push('source.nii.gz');
  }
  return {
    warnings: [...vol.meta.warnings, ...out.meta.warnings].map((w) => ({ code: w.code, message: w.message })),
    summary: { result: { file: 'result.nii.gz', format: 'nifti', ...(vol.modality !== 'unknown' ? { modality: vol.modality } : {}) }, files },
  };
}

const stemOf = (name: string): string => name.replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|zip)$/i, '').replace(/[^\w.-]/g, '_') || 'input';

async function runAugment(task: AugmentTask, report: Report): Promise<TaskOutput> {
  const p = task.params;
  const source: PipelineSource = p.preset !== undefined ? { preset: p.preset } : { json: p.pipeline };
  const pipeline = buildPipeline(source);
  const name = pipelineName(source);
  const seed = p.seed ?? 0;
  report(0.02, { stage: 'reading', done: 0, total: p.count });
  const raw = await readVolume(task.input);
  const image = raw.kind === 'intensity' ? raw : deriveVolume(raw, { data: raw.data, kind: 'intensity' });
  const volumes: Record<string, Volume> = { image };
  if (task.label !== undefined) {
    const l = await readVolume(task.label);
    try {
      volumes.label = createSubject({ image, label: l.kind === 'label' ? l : deriveVolume(l, { data: l.data, kind: 'label' }) }).label;
    } catch (e) {
      if (e instanceof VoxshiftError && e.shortCode === 'GEOMETRY_MISMATCH') {
        throw new VoxshiftError('GEOMETRY_MISMATCH', `the label map is not on the grid of the image: ${e.message}`, { param: 'inputs.label' });
      }
      throw e;
    }
  }
  const subject = createSubject(volumes);
  const id = stemOf(task.inputName);
  const tmp = join(task.outDir, 'augment.partial');
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'images'), { recursive: true });
  if (task.label !== undefined) await mkdir(join(tmp, 'labels'), { recursive: true });
  const files: Zippable = {};
  const manifest: string[] = [];
  for (let index = 0; index < p.count; index++) {
    const s = sampleSeed(seed, id, index);
    const out = pipeline.apply(subject, createRng(s));
    const sample = sampleName(id, index);
    const record: Record<string, unknown> = { sample, subject: id, index, seed: s, image: `images/${sample}.nii.gz` };
    await writeVolume(out.image, join(tmp, 'images', `${sample}.nii.gz`), { overwrite: true });
    files[`images/${sample}.nii.gz`] = [new Uint8Array(await readFile(join(tmp, 'images', `${sample}.nii.gz`))), { level: 0 }];
    if (out.label) {
      await writeVolume(out.label, join(tmp, 'labels', `${sample}.nii.gz`), { overwrite: true });
      files[`labels/${sample}.nii.gz`] = [new Uint8Array(await readFile(join(tmp, 'labels', `${sample}.nii.gz`))), { level: 0 }];
      record.label = `labels/${sample}.nii.gz`;
    }
    record.source = { image: task.inputName, ...(task.labelName !== undefined ? { label: task.labelName } : {}) };
    record.pipeline = name;
    record.history = { image: [...out.image.history], ...(out.label ? { label: [...out.label.history] } : {}) };
    manifest.push(JSON.stringify(record));
    report(0.05 + 0.85 * ((index + 1) / p.count), { stage: 'sampling', done: index + 1, total: p.count });
  }
  report(0.92, { stage: 'zipping', done: p.count, total: p.count });
  const enc = new TextEncoder();
  files['manifest.jsonl'] = enc.encode(`${manifest.join('\n')}\n`);
  files['augment.json'] = enc.encode(`${JSON.stringify({ pipeline: name, pipelineJson: p.preset !== undefined ? null : p.pipeline, seed, perSubject: p.count }, null, 1)}\n`);
  await writeBytesAtomic(join(task.outDir, 'result.zip'), zipSync(files));
  await rm(tmp, { recursive: true, force: true });
  return { warnings: raw.meta.warnings.map((w) => ({ code: w.code, message: w.message })), summary: { result: { file: 'result.zip', format: 'zip' }, files: ['result.zip'] } };
}

async function runValidate(task: ValidateTask, report: Report): Promise<TaskOutput> {
  report(0.05, { stage: 'reading' });
  const [source, synthetic, reference] = await Promise.all([readVolume(task.source), readVolume(task.synthetic), task.reference !== undefined ? readVolume(task.reference) : undefined]);
  const hint = task.params.modalities ?? {};
  const modality = (v: Volume, given: 'MR' | 'CT' | undefined, dflt: 'MR' | 'CT'): Modality => given ?? (v.modality !== 'unknown' ? v.modality : v.meta.units === 'HU' ? 'CT' : dflt);
  report(0.15, { stage: 'checking' });
  const { verdict, files } = await validationReport(
    task.outDir,
    { source, synthetic, ...(reference ? { reference } : {}) },
    { source: modality(source, hint.source, 'MR'), synthetic: modality(synthetic, hint.synthetic, 'CT'), ...(reference ? { reference: modality(reference, hint.reference, 'CT') } : {}) },
    task.params.thresholds,
    { source: basename(task.source), synthetic: basename(task.synthetic), ...(task.reference !== undefined ? { reference: basename(task.reference) } : {}) },
  );
  report(0.9, { stage: 'writing' });
  if (!isNifti(task.source)) {
    await writeAtomic(source, join(task.outDir, 'source.nii.gz'));
    files.push('source.nii.gz');
  }
  if (!isNifti(task.synthetic)) {
    await writeAtomic(synthetic, join(task.outDir, 'synthetic.nii.gz'));
    files.push('synthetic.nii.gz');
  }
  const warnings = [...source.meta.warnings, ...synthetic.meta.warnings, ...(reference?.meta.warnings ?? [])];
  return { warnings: warnings.map((w) => ({ code: w.code, message: w.message })), summary: { result: { file: `${REPORT_DIR}/report.json`, format: 'report' }, files, verdict } };
}

/** Runs `task`; throws a VoxshiftError for input problems (anything else is an internal failure). */
export async function runTask(task: WorkerTask, report: Report): Promise<TaskOutput> {
  await mkdir(task.outDir, { recursive: true });
  switch (task.kind) {
    case 'translate':
      return runTranslate(task, report);
    case 'harmonize':
      return runHarmonize(task, report);
    case 'augment':
      return runAugment(task, report);
    case 'validate':
      return runValidate(task, report);
  }
}
