/**
 * A finished job's result in the format asked for (`?format=` first, else the `Accept` header, else
 * the kind's default):
 *
 * | kind                 | formats (default first)                                              |
 * |----------------------|----------------------------------------------------------------------|
 * | translate, harmonize | nifti (application/gzip), dicom (application/zip: a DICOM series),   |
 * |                      | json and html when the job ran with params.validate (the validation) |
 * | augment              | zip (application/zip: images/, labels/, manifest.jsonl)              |
 * | validate             | json (validation/report's report.json), html (its report.html)       |
 *
 * The report's HTML comes with its PNG overlays inlined as data: URIs, so the one response (fetched
 * with a bearer key) shows them; the files themselves stay in the job's report/ folder.
 *
 * The DICOM zip is made on first request with volumes/dicom/write-dicom.ts (CT or MR storage when the
 * result's modality is known, else Secondary Capture) and kept beside the result. Also here: the
 * viewer's volumes (source, result, difference, findings) as NIfTI.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply } from 'fastify';
import { zipSync, type Zippable } from 'fflate';
import { writeDicomSeries } from '../volumes/dicom/write-dicom.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { readVolume } from '../volumes/io.ts';
import { writeFileAtomic, type JobStore } from './job-store.ts';
import { REPORT_DIR } from './run-task.ts';
import type { Job, ResultQueryFormat, UploadInfo, VolumeName } from './schemas.ts';

const MEDIA: Record<ResultQueryFormat, string> = {
  nifti: 'application/gzip',
  dicom: 'application/zip',
  zip: 'application/zip',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
};

const exists = async (path: string): Promise<boolean> => (await stat(path).catch(() => undefined)) !== undefined;

/** The formats job `job` can be fetched in, its default first. */
export async function resultFormats(job: Job, store: JobStore): Promise<ResultQueryFormat[]> {
  switch (job.kind) {
    case 'augment':
      return ['zip'];
    case 'validate':
      return ['json', 'html'];
    default:
      return (await exists(store.jobFile(job.id, `${REPORT_DIR}/report.json`))) ? ['nifti', 'dicom', 'json', 'html'] : ['nifti', 'dicom'];
  }
}

/** The entries of an Accept header, best first (q, then order), without parameters. */
function acceptList(accept: string): string[] {
  return accept
    .split(',')
    .map((part, i) => {
      const [type, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find((x) => x !== undefined);
      return { type: type.trim(), q: q === undefined ? 1 : Number(q), i };
    })
    .filter((e) => e.type && e.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((e) => e.type);
}

/** The format to send: the query's, else the first Accept entry the job has, else an error. */
export function chooseFormat(available: ResultQueryFormat[], query: ResultQueryFormat | undefined, accept: string | undefined): ResultQueryFormat {
  if (query !== undefined) {
    if (available.includes(query)) return query;
    throw new VoxshiftError('INVALID_ARGUMENT', `this job's result is not available as ${query}; accepted: ${available.join(', ')}`, { param: 'format', details: { accepted: available } });
  }
  if (!accept) return available[0];
  for (const type of acceptList(accept)) {
    if (type === '*/*' || type === 'application/*' || type === 'application/octet-stream') return available[0];
    if (['application/gzip', 'application/x-gzip', 'application/x-nifti', 'application/x-nifti-gz'].includes(type) && available.includes('nifti')) return 'nifti';
    if (type === 'application/zip' && available.includes('zip')) return 'zip';
    if ((type === 'application/zip' || type === 'application/dicom+zip') && available.includes('dicom')) return 'dicom';
    if (type === 'application/json' && available.includes('json')) return 'json';
    if ((type === 'text/html' || type === 'text/*') && available.includes('html')) return 'html';
  }
  throw new VoxshiftError('INVALID_ARGUMENT', `cannot produce ${accept} for this job; it has ${available.map((f) => `${f} (${MEDIA[f].split(';')[0]})`).join(', ')}`, {
    param: 'accept',
    details: { accepted: available.map((f) => MEDIA[f].split(';')[0]) },
  });
}

const building = new Map<string, Promise<string>>();

/** The job's result as a zip of a DICOM series (made once, then kept in the job folder). */
export function dicomZip(job: Job, store: JobStore): Promise<string> {
  const path = store.jobFile(job.id, 'result-dicom.zip');
  const running = building.get(path);
  if (running) return running;
  const p = (async (): Promise<string> => {
    if (await exists(path)) return path;
    const tmp = await mkdtemp(join(store.jobDir(job.id), 'dicom-'));
    try {
      const vol = await readVolume(store.jobFile(job.id, 'result.nii.gz'));
      const modality = job.result?.modality === 'CT' || job.result?.modality === 'MR' ? job.result.modality : undefined;
      await writeDicomSeries(vol, tmp, { seriesDescription: `voxshift ${job.kind} ${job.model}`.slice(0, 64), ...(modality ? { modality } : {}) });
      const files: Zippable = {};
      for (const name of (await readdir(tmp)).sort()) files[`${job.id}/${name}`] = new Uint8Array(await readFile(join(tmp, name)));
      await writeFileAtomic(path, zipSync(files, { level: 1 }));
      return path;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  })().finally(() => building.delete(path));
  building.set(path, p);
  return p;
}

/** report.html with its overlays (`src="overview.png"`, `src="finding-N.png"`) inlined as data: URIs. */
export async function inlineReportHtml(reportDir: string): Promise<string> {
  const html = await readFile(join(reportDir, 'report.html'), 'utf8');
  const names = [...new Set([...html.matchAll(/src="((?:overview|finding-\d+)\.png)"/g)].map((m) => m[1]))];
  const data = new Map<string, string>();
  for (const n of names) {
    const png = await readFile(join(reportDir, n)).catch(() => undefined);
    if (png) data.set(n, `data:image/png;base64,${png.toString('base64')}`);
  }
  return html.replace(/(src|href)="((?:overview|finding-\d+)\.png)"/g, (m, attr: string, n: string) => (data.has(n) ? `${attr}="${data.get(n)}"` : m));
}

/** Sends the result of a succeeded job in `format`. */
export async function sendResult(reply: FastifyReply, job: Job, store: JobStore, format: ResultQueryFormat): Promise<FastifyReply> {
  const reportDir = store.jobFile(job.id, REPORT_DIR);
  switch (format) {
    case 'nifti':
      return reply.type(MEDIA.nifti).header('content-disposition', `attachment; filename="${job.id}.nii.gz"`).send(createReadStream(store.resultFile(job.id)));
    case 'dicom':
      return reply.type(MEDIA.dicom).header('content-disposition', `attachment; filename="${job.id}-dicom.zip"`).send(createReadStream(await dicomZip(job, store)));
    case 'zip':
      return reply.type(MEDIA.zip).header('content-disposition', `attachment; filename="${job.id}.zip"`).send(createReadStream(store.jobFile(job.id, 'result.zip')));
    case 'json':
      return reply.type(MEDIA.json).send(createReadStream(join(reportDir, 'report.json')));
    case 'html':
      return reply.type(MEDIA.html).send(await inlineReportHtml(reportDir));
  }
}

/** The file of one of the viewer's volumes, or NOT_FOUND naming what the job has. */
export async function volumeFile(job: Job, name: VolumeName, store: JobStore, synthetic?: { path: string }): Promise<string> {
  const inJob = (f: string): string => store.jobFile(job.id, f);
  const candidates: (string | undefined)[] = [];
  if (name === 'source') {
    const up: UploadInfo | undefined = await store.getUpload(job.upload);
    candidates.push(inJob('source.nii.gz'), up && up.format === 'nifti' ? store.uploadFile(up) : undefined);
  } else if (name === 'result') {
    if (job.kind === 'validate') candidates.push(inJob('synthetic.nii.gz'), synthetic && /\.nii(\.gz)?$/.test(synthetic.path) ? synthetic.path : undefined);
    else if (job.kind !== 'augment') candidates.push(inJob('result.nii.gz'));
  } else candidates.push(inJob(`${name}.nii.gz`));
  for (const c of candidates) if (c && (await exists(c))) return c;
  throw new VoxshiftError('NOT_FOUND', `job ${job.id} (${job.kind}, ${job.state}) has no ${name} volume`, { param: 'name', details: { kind: job.kind, state: job.state } });
}
