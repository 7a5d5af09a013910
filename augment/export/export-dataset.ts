/**
 * `exportDataset`: N augmented image/label pairs per subject written as NIfTI under OUT/images and
 * OUT/labels, with OUT/manifest.jsonl (one JSON record per sample: source files, seed, pipeline and
 * the full history of both volumes) and OUT/augment.json (pipeline, seed, samples per subject).
 *
 * - Workers: subjects are handed to `workers` worker threads one at a time (one subject in memory per
 *   worker); 0 runs in this thread. Each sample's seed depends only on (seed, subject, index), so the
 *   bytes are the same for any worker count.
 * - Resume: a sample listed in manifest.jsonl whose two files exist is skipped; anything else is
 *   (re)made. Files are written then renamed, and a record is appended only after both files landed,
 *   so an interrupted run leaves nothing half-written under a final name. At the end the manifest is
 *   rewritten sorted by subject and index (write-then-rename). Resuming with another pipeline, seed
 *   or sample count is an error. Temporary files a killed run left behind (`*.<pid>.<time>.tmp` of a
 *   process that no longer exists) are removed when the run resumes.
 * - GAN steps (`Translate`, `LabelToImageGAN` at the top level of the pipeline JSON, see
 *   synthesis/staged-pipeline.ts): every step's checkpoint is checked before any work (errors name the
 *   step's key); each thread (worker or this one) loads each generator once and keeps it for all its
 *   samples, with cores / workers onnxruntime threads, so the workers together use the cores without
 *   oversubscribing them. The checkpoints (path, weights sha256, step, runtime) are part of the
 *   settings in augment.json, so a resume with a retrained model is refused.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { ErrorCode } from '../../volumes/errors.ts';
import { pairSubjectFiles } from './pair-files.ts';
import type { SubjectFiles } from './pair-files.ts';
import { GanModels } from '../synthesis/gan-steps.ts';
import { checkGanModels } from '../synthesis/staged-pipeline.ts';
import { augmentSubject, buildStagedPipeline, pipelineName, samplePaths, sampleName } from './sample.ts';
import type { ManifestRecord, PipelineSource } from './sample.ts';
import type { ToWorker, WorkerInit } from './worker.ts';

export interface ExportDatasetOptions {
  images: string;
  labels: string;
  pipeline: PipelineSource;
  perSubject: number;
  seed: number;
  out: string;
  /** Worker threads (default: available cores); 0 = this thread. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  /** Told which runtime and how many threads each GAN step's generator gets. */
  log?: (message: string) => void;
}

export interface ExportDatasetResult {
  subjects: number;
  samples: number;
  /** Samples made by this run (the others were already there). */
  written: number;
  skipped: number;
  workers: number;
  seconds: number;
  manifest: string;
}

type FromWorker =
  | { type: 'sample'; record: ManifestRecord }
  | { type: 'done'; id: string }
  | { type: 'error'; id: string; error: { code: ErrorCode; message: string; param?: string; file?: string } };

/**
 * How to start the worker module next to this file: worker.js in dist/; worker.ts under tsx/vitest,
 * through a small eval bootstrap that registers tsx's loader in the worker first (a worker does not
 * inherit the parent's loader, and `--import` in its execArgv does not load .ts on Node 20).
 */
function workerEntry(): { target: URL | string; eval: boolean } {
  const fromSources = import.meta.url.endsWith('.ts');
  const url = new URL(fromSources ? './worker.ts' : './worker.js', import.meta.url);
  if (!fromSources) return { target: url, eval: false };
  const pkg = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(join(pkg, 'dist', 'esm', 'api', 'index.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); }).catch((e) => { throw e; });`;
  return { target: code, eval: true };
}

function positiveInt(v: unknown, param: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be an integer >= ${min}, got ${JSON.stringify(v)}`, { param });
  }
  return v;
}

/** Records of manifest.jsonl whose files exist (a torn last line is ignored), by sample name. */
async function doneSamples(out: string): Promise<Map<string, ManifestRecord>> {
  const done = new Map<string, ManifestRecord>();
  let text: string;
  try {
    text = await readFile(join(out, 'manifest.jsonl'), 'utf8');
  } catch {
    return done;
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let r: ManifestRecord;
    try {
      r = JSON.parse(line) as ManifestRecord;
    } catch {
      continue;
    }
    if (typeof r.sample === 'string' && existsSync(join(out, r.image)) && existsSync(join(out, r.label))) done.set(r.sample, r);
  }
  return done;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the write-then-rename temporaries of dead processes (a run killed mid-write). */
async function removeStaleTemps(out: string): Promise<void> {
  for (const dir of [out, join(out, 'images'), join(out, 'labels')]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = /\.(\d+)(?:\.\d+)?\.tmp$/.exec(name);
      if (m && !alive(Number(m[1]))) await unlink(join(dir, name)).catch(() => undefined);
    }
  }
}

async function checkSettings(out: string, settings: Record<string, unknown>): Promise<void> {
  const path = join(out, 'augment.json');
  const text = JSON.stringify(settings, null, 1);
  let previous: string | undefined;
  try {
    previous = await readFile(path, 'utf8');
  } catch {
    previous = undefined;
  }
  if (previous !== undefined && previous !== text) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `--out ${JSON.stringify(out)} holds a dataset made with other settings (${path}); resume with the same pipeline, seed and --per-subject, or use another --out`,
      { param: 'out', file: path },
    );
  }
  if (previous === undefined) await writeFile(path, text);
}

export async function exportDataset(options: ExportDatasetOptions): Promise<ExportDatasetResult> {
  const t0 = performance.now();
  const perSubject = positiveInt(options.perSubject, 'perSubject', 1);
  const seed = positiveInt(options.seed, 'seed', 0);
  const workers = positiveInt(options.workers ?? availableParallelism(), 'workers', 0);
  const pipeline = buildStagedPipeline(options.pipeline); // validates before any work starts
  const ganModels = await checkGanModels(pipeline); // so do the GAN steps' checkpoints
  const name = pipelineName(options.pipeline);
  const subjects = await pairSubjectFiles(options.images, options.labels);
  const out = options.out;
  await mkdir(join(out, 'images'), { recursive: true });
  await mkdir(join(out, 'labels'), { recursive: true });
  await checkSettings(out, {
    pipeline: 'preset' in options.pipeline ? { preset: options.pipeline.preset } : options.pipeline.json,
    seed,
    perSubject,
    ...(ganModels.length > 0 ? { models: ganModels.map((m) => ({ step: m.where, type: m.type, model: m.model, checkpointId: m.checkpointId, trainingStep: m.step, runtime: m.runtime })) } : {}),
  });

  await removeStaleTemps(out);
  const done = await doneSamples(out);
  const records = new Map<string, ManifestRecord>();
  const tasks: { files: SubjectFiles; indices: number[] }[] = [];
  for (const files of subjects) {
    const indices: number[] = [];
    for (let i = 0; i < perSubject; i++) {
      const r = done.get(sampleName(files.id, i));
      const paths = samplePaths(files.id, i);
      if (r && r.image === paths.image && r.label === paths.label) records.set(r.sample, r);
      else indices.push(i);
    }
    if (indices.length > 0) tasks.push({ files, indices });
  }
  const used = Math.min(workers, tasks.length);
  // onnxruntime threads per generator: the cores shared by the threads that run one.
  const ganThreads = Math.max(1, Math.floor(availableParallelism() / Math.max(1, used)));
  if (tasks.length > 0) {
    for (const m of ganModels) {
      options.log?.(`${m.where} ${m.type}: ${m.model} (step ${m.step}, weights ${m.checkpointId.slice(0, 12)}) on ${m.runtime}, loaded once per ${workers === 0 ? 'run' : `worker (${used}), ${ganThreads} thread(s) each`}`);
    }
  }
  const total = subjects.length * perSubject;
  const skipped = records.size;
  options.onProgress?.(skipped, total);
  const manifestPath = join(out, 'manifest.jsonl');
  // Appends are chained so lines never interleave.
  let appending: Promise<void> = Promise.resolve();
  const onSample = (r: ManifestRecord): void => {
    records.set(r.sample, r);
    appending = appending.then(() => appendFile(manifestPath, `${JSON.stringify(r)}\n`));
    options.onProgress?.(records.size, total);
  };

  if (workers === 0) {
    const models = new GanModels({ threads: ganThreads });
    try {
      for (const t of tasks) await augmentSubject(t.files, t.indices, { pipeline, pipelineName: name, seed, outDir: out, models }, onSample);
    } finally {
      await models.dispose();
    }
  } else if (used > 0) {
    await runWorkers(used, tasks, { pipeline: options.pipeline, seed, outDir: out, ...(ganModels.length > 0 ? { ganThreads } : {}) }, onSample);
  }
  await appending;

  const sorted = [...records.values()].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.index - b.index));
  const tmp = `${manifestPath}.${process.pid}.tmp`;
  await writeFile(tmp, sorted.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await rename(tmp, manifestPath);
  return { subjects: subjects.length, samples: total, written: total - skipped, skipped, workers: workers === 0 ? 0 : used, seconds: (performance.now() - t0) / 1000, manifest: manifestPath };
}

function runWorkers(count: number, tasks: { files: SubjectFiles; indices: number[] }[], init: WorkerInit, onSample: (r: ManifestRecord) => void): Promise<void> {
  const entry = workerEntry();
  const queue = [...tasks];
  return new Promise<void>((resolvePromise, rejectPromise) => {
    const pool: Worker[] = [];
    let live = count;
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      for (const w of pool) void w.terminate();
      rejectPromise(e);
    };
    const next = (w: Worker): void => {
      const t = queue.shift();
      const msg: ToWorker = t ? { type: 'subject', files: t.files, indices: t.indices } : { type: 'exit' };
      w.postMessage(msg);
    };
    for (let i = 0; i < count; i++) {
      const w = new Worker(entry.target, { workerData: init, eval: entry.eval });
      pool.push(w);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'sample') onSample(m.record);
        else if (m.type === 'done') next(w);
        else fail(new VoxshiftError(m.error.code, `subject ${m.id}: ${m.error.message}`, { ...(m.error.param ? { param: m.error.param } : {}), details: { file: m.error.file } }));
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (failed) return;
        if (code !== 0) fail(new VoxshiftError('WRITE_FAILED', `augmentation worker exited with code ${code}`, {}));
        else if (--live === 0) resolvePromise();
      });
      next(w);
    }
  });
}
