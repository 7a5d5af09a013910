/**
 * Downstream proof of augmentation (issue 7, Done-when 3): the same small 2-D segmentation U-Net
 * (validation/segment/learned) trained on 4 phantom subjects (T1w MR → tissue label map) without
 * augmentation and with the default MR augmentation preset — same steps, same seed, same patches
 * drawn — then scored by Dice per tissue class on held-out phantoms (seeds from HELD_OUT_SEED on,
 * never used for training) in two settings: (a) the training scanner (default scanner effects),
 * (b) other scanners: each held-out subject with its own random site effects (bias field, noise,
 * gamma, intensity scale/offset, blur, thick slices; randomSiteEffects at full strength).
 * Prints mean Dice per class for both trainings and their difference.
 *
 *   npx tsx bench/augment-downstream.ts [--steps 300] [--size 64,64,48] [--held-out 5] [--threads 1]
 */
import { parseArgs } from 'node:util';
import { presetPipeline } from '../augment/presets.ts';
import { HELD_OUT_SEED, phantomSet } from '../models3d/data/phantom-data.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { dicePerLabel } from '../validation/metrics/dice.ts';
import { trainSegmenter, type LearnedSegmenter, type TrainingSubject } from '../validation/segment/learned/index.ts';
import { generatePhantom, randomSiteEffects, TISSUES } from '../volumes/phantom/index.ts';
import type { Volume } from '../volumes/volume.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '300' },
    size: { type: 'string', default: '64,64,48' },
    'held-out': { type: 'string', default: '5' },
    filters: { type: 'string', default: '8' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.002' },
    seed: { type: 'string', default: '7' },
    threads: { type: 'string', default: '1' },
  },
});
const steps = Number(values.steps);
const shape = values.size.split(',').map(Number);
const heldOut = Number(values['held-out']);
const seed = Number(values.seed);

await initBackend('wasm', { threads: Number(values.threads) });
const train = phantomSet({ count: 4, seed: 1, shape, contrast: 't1' });
const subjects: TrainingSubject[] = train.a.map((image, i) => ({ id: `train-${train.seeds.a[i]}`, image, label: train.labels[i] }));
const testSets: Record<string, { image: Volume; label: Volume }[]> = { 'same scanner': [], 'other scanners': [] };
for (let i = 0; i < heldOut; i++) {
  const s = HELD_OUT_SEED + i;
  const same = generatePhantom({ region: 'head', seed: s, shape });
  testSets['same scanner'].push({ image: same.t1, label: same.labels });
  const other = generatePhantom({ region: 'head', seed: s + 1000, shape, scanner: randomSiteEffects(s + 1000) });
  testSets['other scanners'].push({ image: other.t1, label: other.labels });
}
const classes = TISSUES.filter((t) => t.id !== 0).map((t) => ({ value: t.id, name: t.name }));

function evaluate(seg: LearnedSegmenter, set: { image: Volume; label: Volume }[]): Map<number, number> {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const { image, label } of set) {
    const pred = seg.segment(image);
    for (const [l, d] of dicePerLabel(pred, label, classes.map((c) => c.value))) {
      // A class absent from both maps says nothing about the segmenter.
      if (!label.data.includes(l) && !pred.data.includes(l)) continue;
      const e = sums.get(l) ?? { sum: 0, n: 0 };
      e.sum += d;
      e.n++;
      sums.set(l, e);
    }
  }
  return new Map([...sums].map(([l, e]) => [l, e.sum / e.n]));
}

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`.padStart(7);

const results: Record<string, Record<string, Map<number, number>>> = {};
for (const mode of ['none', 'mr'] as const) {
  const t0 = Date.now();
  let last = 0;
  const r = await trainSegmenter({
    subjects,
    spatialDims: 2,
    patchSize: [shape[1], shape[0]],
    batchSize: Number(values.batch),
    filters: Number(values.filters),
    depth: 3,
    steps,
    learningRate: Number(values.lr),
    classes,
    seed,
    ...(mode === 'mr' ? { augmentation: { pipeline: presetPipeline('mr'), name: 'preset:mr' } } : {}),
    onStep: (s) => {
      if (Date.now() - last > 15_000 || s.step === s.totalSteps) {
        last = Date.now();
        process.stderr.write(`[${mode}] step ${s.step}/${s.totalSteps} loss ${s.loss.toFixed(3)} (ce ${s.ce.toFixed(3)}, dice ${s.dice.toFixed(3)}) ${s.secondsPerStep.toFixed(2)} s/step\n`);
      }
    },
  });
  results[mode] = {};
  for (const [name, set] of Object.entries(testSets)) results[mode][name] = evaluate(r.segmenter, set);
  process.stderr.write(`[${mode}] trained and evaluated in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  r.segmenter.dispose();
}

console.log(`2-D U-Net (filters ${values.filters}, depth 3), 4 training phantoms ${shape.join('×')}, ${steps} steps, batch ${values.batch}, lr ${values.lr}, seed ${seed}; ${heldOut} held-out subjects per set`);
for (const name of Object.keys(testSets)) {
  console.log(`\nheld-out, ${name}: mean Dice per class`);
  console.log(`${'class'.padEnd(18)} ${'no aug'.padStart(7)} ${'MR aug'.padStart(7)} ${'diff'.padStart(7)}`);
  const means = { none: [] as number[], mr: [] as number[] };
  for (const c of classes) {
    const a = results.none[name].get(c.value);
    const b = results.mr[name].get(c.value);
    if (a === undefined || b === undefined) continue;
    means.none.push(a);
    means.mr.push(b);
    console.log(`${c.name.padEnd(18)} ${a.toFixed(3).padStart(7)} ${b.toFixed(3).padStart(7)} ${signed(b - a)}`);
  }
  const m = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
  const d = m(means.mr) - m(means.none);
  console.log(`${'mean'.padEnd(18)} ${m(means.none).toFixed(3).padStart(7)} ${m(means.mr).toFixed(3).padStart(7)} ${signed(d)}`);
}
