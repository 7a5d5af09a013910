/**
 * A finished job's result in the format asked for (`?format=` first, else the `Accept` header, else
 * the kind's default):
 *
 * | kind                 | formats (default first)                                              |
 * |----------------------|----------------------------------------------------------------------|
 * | translate, harmonize | nifti (application/gzip), dicom (application/zip: a DICOM series),   |
 * |                      | json and html when the job ran with params.validate (the validation) |
 * | augment              | zip (application/zip: images/, labels/, manifest.jsonl)              |
 * | validate             | json (the consistency report), html (the same, readable)             |
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
import type { ConsistencyReport } from '../validation/consistency/check-consistency.ts';
import { writeDicomSeries } from '../volumes/dicom/write-dicom.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { readVolume } from '../volumes/io.ts';
import { writeFileAtomic, type JobStore } from './job-store.ts';
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
      return (await exists(store.jobFile(job.id, 'validation.json'))) ? ['nifti', 'dicom', 'json', 'html'] : ['nifti', 'dicom'];
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

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A readable page of a consistency report (until validation/report provides the full one). */
export function reportHtml(report: ConsistencyReport, title: string): string {
  const rows = report.findings
    .map(
      (f) =>
        `<tr><td>${f.id}</td><td>${esc(f.type)}</td><td>${esc(f.against)}</td><td>${esc(f.className)} → ${esc(f.otherClassName)}</td><td>${f.volumeMm3.toFixed(0)}</td><td>${f.centroidVoxel.map((v) => v.toFixed(0)).join(', ')}</td></tr>`,
    )
    .join('');
  const classes = report.source.classes
    .map((c) => `<tr><td>${esc(c.name)}</td><td>${c.dice.toFixed(3)}</td><td>${c.baselineMm3.toFixed(0)}</td><td>${c.syntheticMm3.toFixed(0)}</td><td>${c.volumeChangePercent === null ? '–' : c.volumeChangePercent.toFixed(1)}</td></tr>`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}.pass{color:#070}.fail{color:#b00}</style>
<h1>${esc(title)}</h1><p>Verdict: <strong class="${report.verdict}">${report.verdict}</strong></p>
<ul>${report.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<h2>Flagged regions</h2>${report.findings.length ? `<table><tr><th>id</th><th>type</th><th>against</th><th>class</th><th>mm³</th><th>voxel</th></tr>${rows}</table>` : '<p>none</p>'}
<h2>Classes (source vs synthetic)</h2><table><tr><th>class</th><th>Dice</th><th>source mm³</th><th>synthetic mm³</th><th>change %</th></tr>${classes}</table>`;
}

/** Sends the result of a succeeded job in `format`. */
export async function sendResult(reply: FastifyReply, job: Job, store: JobStore, format: ResultQueryFormat): Promise<FastifyReply> {
  const reportFile = store.jobFile(job.id, job.kind === 'validate' ? 'report.json' : 'validation.json');
  switch (format) {
    case 'nifti':
      return reply.type(MEDIA.nifti).header('content-disposition', `attachment; filename="${job.id}.nii.gz"`).send(createReadStream(store.resultFile(job.id)));
    case 'dicom':
      return reply.type(MEDIA.dicom).header('content-disposition', `attachment; filename="${job.id}-dicom.zip"`).send(createReadStream(await dicomZip(job, store)));
    case 'zip':
      return reply.type(MEDIA.zip).header('content-disposition', `attachment; filename="${job.id}.zip"`).send(createReadStream(store.jobFile(job.id, 'result.zip')));
    case 'json':
      return reply.type(MEDIA.json).send(createReadStream(reportFile));
    case 'html': {
      const report = JSON.parse(await readFile(reportFile, 'utf8')) as ConsistencyReport;
      return reply.type(MEDIA.html).send(reportHtml(report, `voxshift ${job.kind} ${job.id}: segmentation consistency`));
    }
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
