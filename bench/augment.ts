/**
 * Augmented 3-D subjects per second: `exportDataset` (augment/export) with the default MR preset on
 * 128³ head phantoms (T1 image + label map), 1 worker thread vs 2, same seed (so both runs do the same
 * work and write the same bytes). The time covers reading, augmenting, NIfTI (.nii.gz) writing and
 * the manifest, and the workers' start-up; input volumes are written once beforehand (untimed).
 *
 *   npx tsx bench/augment.ts [--subjects 4] [--per-subject 2] [--size 128] [--preset mr]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportDataset } from '../augment/export/export-dataset.ts';
import type { PresetName } from '../augment/presets.ts';
import { writeNifti } from '../volumes/nifti/write-nifti.ts';
import { generatePhantom } from '../volumes/phantom/index.ts';

const { values } = parseArgs({
  options: {
    subjects: { type: 'string', default: '4' },
    'per-subject': { type: 'string', default: '2' },
    size: { type: 'string', default: '128' },
    preset: { type: 'string', default: 'mr' },
  },
});
const subjects = Number(values.subjects);
const perSubject = Number(values['per-subject']);
const size = Number(values.size);
const preset = values.preset as PresetName;

const root = mkdtempSync(join(tmpdir(), 'voxshift-bench-augment-'));
try {
  const images = join(root, 'images');
  const labels = join(root, 'labels');
  mkdirSync(images);
  mkdirSync(labels);
  for (let i = 0; i < subjects; i++) {
    const p = generatePhantom({ region: 'head', seed: 100 + i, shape: [size, size, size] });
    await writeNifti(p.t1, join(images, `s${i}.nii.gz`));
    await writeNifti(p.labels, join(labels, `s${i}.nii.gz`));
  }
  process.stdout.write(`augment: ${subjects} head phantoms ${size}³ (T1 + labels) × ${perSubject} samples, preset ${preset}, ${availableParallelism()} cores\n`);
  const rate: Record<number, number> = {};
  for (const workers of [1, 2]) {
    const r = await exportDataset({ images, labels, pipeline: { preset }, perSubject, seed: 1, out: join(root, `out-${workers}`), workers });
    rate[workers] = r.samples / r.seconds;
    process.stdout.write(`  ${workers} worker${workers > 1 ? 's' : ' '}: ${r.samples} subjects in ${r.seconds.toFixed(1)} s = ${rate[workers].toFixed(2)} augmented subjects/s\n`);
  }
  process.stdout.write(`  2 workers / 1 worker: ${(rate[2] / rate[1]).toFixed(2)}×\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
