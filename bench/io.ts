/**
 * IO benchmark: MB/s reading real DICOM series with voxshift vs dcm2niix on the same files, in one
 * run, printed as a ratio (voxshift / dcm2niix, > 1 means voxshift is faster).
 *
 *   npx tsx bench/io.ts [--runs N]
 *
 * dcm2niix's figure includes writing an uncompressed NIfTI to a RAM-backed temp dir (it has no
 * read-only mode); voxshift's figure is parse + decode + assemble into a Volume.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readDicomSeries } from '../volumes/dicom/read-dicom.ts';

const SHARED = process.env.VOXSHIFT_SHARED_DATA ?? resolve(import.meta.dirname, '..', '..', 'shared', 'data');
const SERIES = [
  { name: 'MR T1 120 slices (implicit VR LE)', dir: 'dicom/mr_series_brain_t1_siemens_vsseg' },
  { name: 'CT 20 slices (JPEG 2000 lossless)', dir: 'dicom/ct_series_abdomen_j2k_totalseg' },
];

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? folderBytes(p) : statSync(p).size;
  }
  return total;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
  let haveDcm2niix = true;
  try {
    execFileSync('dcm2niix', ['-v'], { stdio: 'ignore' });
  } catch (e) {
    haveDcm2niix = (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  console.log(`IO benchmark: ${runs} runs each, median figures${haveDcm2niix ? '' : ' (dcm2niix missing: no ratio)'}`);
  console.log('series | MB | voxshift s | voxshift MB/s | dcm2niix s | dcm2niix MB/s | ratio');
  for (const s of SERIES) {
    const dir = join(SHARED, s.dir);
    const mb = folderBytes(dir) / 1e6;
    const ours: number[] = [];
    const ref: number[] = [];
    await readDicomSeries(dir); // warm-up: codec wasm compilation, file cache
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const vol = await readDicomSeries(dir);
      ours.push((performance.now() - t0) / 1000);
      if (vol.data.length === 0) throw new Error('empty volume');
      if (haveDcm2niix) {
        const out = mkdtempSync(join(tmpdir(), 'vx-bench-'));
        const t1 = performance.now();
        execFileSync('dcm2niix', ['-z', 'n', '-b', 'n', '-o', out, dir], { stdio: 'ignore' });
        ref.push((performance.now() - t1) / 1000);
        rmSync(out, { recursive: true, force: true });
      }
    }
    const o = median(ours);
    const d = ref.length ? median(ref) : Number.NaN;
    console.log(
      `${s.name} | ${mb.toFixed(1)} | ${o.toFixed(3)} | ${(mb / o).toFixed(1)} | ${d.toFixed(3)} | ${(mb / d).toFixed(1)} | ${(d / o).toFixed(2)}×`,
    );
  }
}

await main();
