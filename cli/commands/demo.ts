/**
 * `voxshift demo` (what `npm start` runs): the main job on built-in data. It generates phantom
 * subjects, writes them in every supported format (NIfTI, NRRD, MHA and a CT DICOM series), reads
 * each file back and checks that geometry and voxels survived; then translates an unseen MR phantom
 * to CT with the model that ships in models/ and scores it in HU against the phantom's CT and a
 * linear-fit baseline (demo-synthesis.ts). Exits non-zero on any mismatch or if the model does not
 * beat the baseline.
 */
import type { Command } from 'commander';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { affineOf } from '../../volumes/affine.ts';
import { describeVolume } from '../../volumes/describe.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { deriveVolume, type Volume } from '../../volumes/volume.ts';
import { createProgressBar } from '../progress.ts';
import { runDemoSynthesis } from './demo-synthesis.ts';
import type { RegisterCommand } from './index.ts';

export interface DemoRow {
  file: string;
  shape: string;
  orientation: string;
  maxGeometryErrorMm: number;
  maxValueError: number;
  ok: boolean;
  seconds: number;
}

function compare(a: Volume, b: Volume): { geo: number; val: number } {
  if (a.shape.some((n, i) => n !== b.shape[i]) || a.data.length !== b.data.length) return { geo: Infinity, val: Infinity };
  const fa = affineOf(a);
  const fb = affineOf(b);
  const geo = Math.max(...fa.map((v, i) => Math.abs(v - fb[i])));
  let val = 0;
  for (let i = 0; i < a.data.length; i++) val = Math.max(val, Math.abs(a.data[i] - b.data[i]));
  return { geo, val };
}

export async function runDemo(outDir: string, log: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<DemoRow[]> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  const head = generatePhantom({ region: 'head', seed: 7 });
  const pelvis = generatePhantom({ region: 'pelvis', seed: 11 });
  log(`generated head (${head.ct.shape.join('×')}) and pelvis (${pelvis.ct.shape.join('×')}) phantoms in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  // CT goes to DICOM as int16 HU; round first so the comparison is exact.
  const ctInt = deriveVolume(head.ct, { data: Int16Array.from(head.ct.data, (v) => Math.round(v)) });
  const jobs: { file: string; vol: Volume; tolerance: number }[] = [
    { file: 'head_t1.nii.gz', vol: head.t1, tolerance: 0 },
    { file: 'head_t2.nii', vol: head.t2, tolerance: 0 },
    { file: 'head_ct.nii.gz', vol: head.ct, tolerance: 0 },
    { file: 'head_labels.nii.gz', vol: head.labels, tolerance: 0 },
    { file: 'head_ct.nrrd', vol: head.ct, tolerance: 0 },
    { file: 'head_t1.mha', vol: head.t1, tolerance: 0 },
    { file: 'head_ct_dicom/', vol: ctInt, tolerance: 0 },
    { file: 'pelvis_t2.nii.gz', vol: pelvis.t2, tolerance: 0 },
    { file: 'pelvis_ct.nii.gz', vol: pelvis.ct, tolerance: 0 },
    { file: 'pelvis_labels.nii.gz', vol: pelvis.labels, tolerance: 0 },
  ];
  const bar = createProgressBar('demo');
  const rows: DemoRow[] = [];
  for (const [n, job] of jobs.entries()) {
    bar.update(n, jobs.length, job.file);
    const t = performance.now();
    const path = join(outDir, job.file);
    await writeVolume(job.vol, path, { overwrite: true, ...(job.file.includes('dicom') ? { dicom: { seriesDescription: 'voxshift phantom CT' } } : {}) });
    const back = await readVolume(path, job.vol.kind === 'label' ? { kind: 'label' } : {});
    const { geo, val } = compare(job.vol, back);
    rows.push({
      file: job.file,
      shape: back.shape.join('×'),
      orientation: describeVolume(back).orientation,
      maxGeometryErrorMm: geo,
      maxValueError: val,
      ok: geo <= 1e-3 && val <= job.tolerance,
      seconds: (performance.now() - t) / 1000,
    });
  }
  bar.update(jobs.length, jobs.length);
  bar.stop();
  log('');
  log('file                   | shape        | orient | geometry err mm | value err | s     | ok');
  for (const r of rows) {
    log(
      `${r.file.padEnd(22)} | ${r.shape.padEnd(12)} | ${r.orientation.padEnd(6)} | ${r.maxGeometryErrorMm.toExponential(1).padStart(15)} | ${String(r.maxValueError).padStart(9)} | ${r.seconds.toFixed(2).padStart(5)} | ${r.ok ? 'yes' : 'NO'}`,
    );
  }
  log('');
  log(`files are in ${resolve(outDir)}; inspect one with: voxshift info ${join(outDir, 'head_ct_dicom')}`);
  return rows;
}

export const registerDemo: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('demo')
    .description('the built-in end-to-end job: phantoms in every format and back, then MR → CT with the shipped model')
    .option('--out <dir>', 'output folder', 'out/demo')
    .action(async (opts: { out: string }) => {
      const log = (s: string): boolean => process.stdout.write(`${s}\n`);
      const rows = await runDemo(opts.out, log);
      const synthesis = await runDemoSynthesis(opts.out, log);
      if (!rows.every((r) => r.ok)) setExitCode(1);
      if (!(synthesis.evaluation.modelMae < synthesis.evaluation.baselineMae)) {
        process.stderr.write('demo: the shipped model did not beat the linear baseline\n');
        setExitCode(1);
      }
    });
};
