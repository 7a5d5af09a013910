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
 *     [--filters 8] [--depth 3] [--class-balanced] [--modes none,mr] [--eval-seed 100000]
 *
 * --class-balanced: nnU-Net's class-balanced patch sampling (trainSegmenter classBalanced) in both arms.
 * --modes: train only one arm (each arm is deterministic, so two processes with --modes none and
 * --modes mr print the same numbers as one run with both). --eval-seed: score on phantoms from this
 * seed instead of the held-out ones, for screening configurations without looking at the held-out set.
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
    depth: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'none,mr' },
    'class-balanced': { type: 'boolean', default: false },
    'eval-seed': { type: 'string', default: String(HELD_OUT_SEED) },
  },
});
const steps = Number(values.steps);
const shape = values.size.split(',').map(Number);
const heldOut = Number(values['held-out']);
const seed = Number(values.seed);
const depth = Number(values.depth);
const requested = values.modes.split(',');
if (requested.some((m) => m !== 'none' && m !== 'mr')) throw new Error(`--modes takes none and/or mr, got ${values.modes}`);
const modes = (['none', 'mr'] as const).filter((m) => requested.includes(m));
// Screening runs score on a validation range (e.g. --eval-seed 50000) so the held-out phantoms stay untouched.
const evalSeed = Number(values['eval-seed']);

await initBackend('wasm', { threads: Number(values.threads) });
const train = phantomSet({ count: 4, seed: 1, shape, contrast: 't1' });
const subjects: TrainingSubject[] = train.a.map((image, i) => ({ id: `train-${train.seeds.a[i]}`, image, label: train.labels[i] }));
const testSets: Record<string, { image: Volume; label: Volume }[]> = { 'same scanner': [], 'other scanners': [] };
for (let i = 0; i < heldOut; i++) {
  const s = evalSeed + i;
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
for (const mode of modes) {
  const t0 = Date.now();
  let last = 0;
  const r = await trainSegmenter({
    subjects,
    spatialDims: 2,
    patchSize: [shape[1], shape[0]],
    batchSize: Number(values.batch),
    filters: Number(values.filters),
    depth,
    steps,
    classBalanced: values['class-balanced'],
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

const both = modes.includes('none') && modes.includes('mr');
const label = { none: 'no aug', mr: 'MR aug' } as const;
console.log(`2-D U-Net (filters ${values.filters}, depth ${depth}${values['class-balanced'] ? ', class-balanced patches' : ''}), 4 training phantoms ${shape.join('×')}, ${steps} steps, batch ${values.batch}, lr ${values.lr}, seed ${seed}; ${heldOut} ${evalSeed === HELD_OUT_SEED ? 'held-out' : `validation (seeds from ${evalSeed})`} subjects per set`);
for (const name of Object.keys(testSets)) {
  console.log(`\n${name}: mean Dice per class`);
  console.log(`${'class'.padEnd(18)} ${modes.map((m) => label[m].padStart(7)).join(' ')}${both ? ` ${'diff'.padStart(7)}` : ''}`);
  const means: Record<string, number[]> = { none: [], mr: [] };
  for (const c of classes) {
    const v = modes.map((m) => results[m][name].get(c.value));
    if (v.some((x) => x === undefined)) continue;
    const vs = v as number[];
    modes.forEach((m, i) => means[m].push(vs[i]));
    console.log(`${c.name.padEnd(18)} ${vs.map((x) => x.toFixed(3).padStart(7)).join(' ')}${both ? ` ${signed(vs[1] - vs[0])}` : ''}`);
  }
  const m = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
  const ms = modes.map((k) => m(means[k]));
  console.log(`${'mean'.padEnd(18)} ${ms.map((x) => x.toFixed(3).padStart(7)).join(' ')}${both ? ` ${signed(ms[1] - ms[0])}` : ''}`);
}
