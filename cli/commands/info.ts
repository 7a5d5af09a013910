/**
 * `voxshift info PATH [--json]`: what a file or folder holds — the DICOM series found (and files
 * skipped), then for each volume its shape, spacing, origin, direction, orientation code, value
 * range, modality and warnings.
 */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { describeVolume, formatVolumeSummary, type VolumeSummary } from '../../volumes/describe.ts';
import { detectFormat, readVolume } from '../../volumes/io.ts';
import { scanDicom, type DicomScan } from '../../volumes/dicom/read-dicom.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import type { RegisterCommand } from './index.ts';

export interface InfoReport {
  path: string;
  format: string;
  dicom?: DicomScan;
  volumes: (VolumeSummary & { series?: string })[];
  errors: { series?: string; code: string; message: string }[];
}

export async function infoReport(path: string, options: { series?: string } = {}): Promise<InfoReport> {
  await stat(path).catch((e: unknown) => {
    throw new VoxshiftError('FILE_NOT_FOUND', 'no such file or folder', { file: path, cause: e });
  });
  const format = await detectFormat(path);
  const report: InfoReport = { path, format, volumes: [], errors: [] };
  if (format !== 'dicom' && format !== 'zip') {
    report.volumes.push(describeVolume(await readVolume(path)));
    return report;
  }
  const scan = await scanDicom(path);
  report.dicom = scan;
  const wanted = options.series ? scan.series.filter((s) => s.id === options.series || s.seriesInstanceUid === options.series) : scan.series;
  if (options.series && wanted.length === 0) {
    throw new VoxshiftError('NO_SERIES', `series ${options.series} not found; found: ${scan.series.map((s) => s.id).join(', ') || 'none'}`, {
      file: path,
      param: 'series',
    });
  }
  if (scan.series.length === 0) {
    throw new VoxshiftError('NO_SERIES', `no DICOM image series found (${scan.skipped.length} files skipped)`, {
      file: path,
      details: { skipped: scan.skipped },
    });
  }
  for (const s of wanted) {
    try {
      const vol = await readVolume(path, { seriesInstanceUid: s.id });
      report.volumes.push({ series: s.id, ...describeVolume(vol) });
    } catch (e) {
      if (!(e instanceof VoxshiftError)) throw e;
      report.errors.push({ series: s.id, code: e.code, message: e.message });
    }
  }
  return report;
}

function formatReport(r: InfoReport): string {
  const out: string[] = [`${r.path} (${r.format})`];
  if (r.dicom) {
    out.push(`${r.dicom.series.length} series found${r.dicom.skipped.length ? `, ${r.dicom.skipped.length} files skipped` : ''}:`);
    for (const s of r.dicom.series) {
      out.push(`  ${s.id}  ${s.modality || '?'}  "${s.description}"  ${s.columns}×${s.rows}, ${s.frames} frames in ${s.files} files`);
    }
    for (const k of r.dicom.skipped) out.push(`  skipped ${k.file}: ${k.code} ${k.reason}`);
  }
  for (const v of r.volumes) {
    out.push('');
    if (v.series) out.push(`series ${v.series}`);
    out.push(formatVolumeSummary(v));
  }
  for (const e of r.errors) out.push('', `series ${e.series}: error ${e.code}: ${e.message}`);
  return out.join('\n');
}

export const registerInfo: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('info')
    .description('show the series and volumes in a file or folder (DICOM, NIfTI, NRRD, MHA, zip)')
    .argument('<path>', 'file, folder or .zip')
    .option('--json', 'print JSON')
    .option('--series <uid>', 'only this DICOM series')
    .action(async (path: string, opts: { json?: boolean; series?: string }) => {
      const report = await infoReport(path, opts.series !== undefined ? { series: opts.series } : {});
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      if (report.errors.length > 0) setExitCode(2);
    });
};
