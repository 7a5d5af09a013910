/**
 * Downstream proof of augmentation (issue 7, Done-when 3): the same small 2-D segmentation U-Net
 * (validation/segment/learned) trained on 4 phantom subjects (T1w MR → tissue label map) without
 * augmentation and with augmentation pipelines — same steps, same seed, same patches drawn — then
 * scored by Dice per tissue class in two settings: (a) the training scanner (default scanner
 * effects), (b) other scanners: each subject with its own random site effects (bias field, noise,
 * gamma, intensity scale/offset, blur, thick slices; randomSiteEffects at full strength).
 *
 * Arms (--modes): `none`; `mr` (the `mr` preset: TorchIO-like spatial + intensity + artefacts);
 * `spatial` (the preset's spatial steps only: RandomAffine and RandomElastic).
 * Every arm is scored on two disjoint sets of phantoms never used for training: a validation range
 * (seeds from --val-seed) and the held-out range (seeds from HELD_OUT_SEED). The augmentation arm to
 * report is chosen on the validation range only (highest mean Dice over both settings); the
 * held-out numbers of that choice are the result. Each arm is deterministic, so arms can run in
 * separate processes (--modes spatial --json out/spatial.json) and be merged (--merge a.json b.json ...).
 *
 *   npx tsx bench/augment-downstream.ts [--steps 300] [--size 64,64,48] [--held-out 5] [--threads 1]
 *     [--filters 8] [--depth 3] [--class-balanced] [--modes none,mr,spatial] [--val-seed 50000]
 *     [--json FILE] | --merge FILE...
 *
 * --class-balanced: nnU-Net's class-balanced patch sampling (trainSegmenter classBalanced) in every arm.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parsePipeline } from '../augment/pipeline.ts';
import { PRESETS, presetPipeline } from '../augment/presets.ts';
import type { Transform } from '../augment/transform.ts';
import { HELD_OUT_SEED, phantomSet } from '../models3d/data/phantom-data.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { dicePerLabel } from '../validation/metrics/dice.ts';
import { trainSegmenter, type LearnedSegmenter, type TrainingSubject } from '../validation/segment/learned/index.ts';
import { generatePhantom, randomSiteEffects, TISSUES } from '../volumes/phantom/index.ts';
import type { Volume } from '../volumes/volume.ts';

const { values, positionals } = parseArgs({
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
    modes: { type: 'string', default: 'none,mr,spatial' },
    'class-balanced': { type: 'boolean', default: false },
    'val-seed': { type: 'string', default: '50000' },
    json: { type: 'string' },
    merge: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
type Mode = 'none' | 'mr' | 'spatial';
const MODES: readonly Mode[] = ['none', 'mr', 'spatial'];
const LABEL: Record<Mode, string> = { none: 'no aug', mr: 'MR aug', spatial: 'spatial' };
/** Per arm: set name → class name → mean Dice. */
type ArmResult = { mode: Mode; config: string; scores: Record<string, Record<string, number>> };

function pipelineFor(mode: Mode): { pipeline: Transform; name: string } | undefined {
  if (mode === 'none') return undefined;
  if (mode === 'mr') return { pipeline: presetPipeline('mr'), name: 'preset:mr' };
  const spatial = PRESETS.mr.transforms.filter((t) => t.type === 'RandomAffine' || t.type === 'RandomElastic');
  return { pipeline: parsePipeline({ name: 'mr-spatial', transforms: spatial }, 'spatial'), name: 'preset:mr (spatial steps only)' };
}

async function runArms(): Promise<ArmResult[]> {
  const steps = Number(values.steps);
  const shape = values.size.split(',').map(Number);
  const count = Number(values['held-out']);
  const seed = Number(values.seed);
  const depth = Number(values.depth);
  const requested = values.modes.split(',');
  const bad = requested.filter((m) => !(MODES as readonly string[]).includes(m));
  if (bad.length > 0) throw new Error(`--modes takes ${MODES.join(', ')}; got ${bad.join(', ')}`);
  const modes = MODES.filter((m) => requested.includes(m));
  const valSeed = Number(values['val-seed']);
  if (valSeed + count + 1000 > HELD_OUT_SEED && valSeed < HELD_OUT_SEED + count + 1000) throw new Error(`--val-seed ${valSeed} overlaps the held-out seeds (${HELD_OUT_SEED}…)`);

  await initBackend('wasm', { threads: Number(values.threads) });
  const train = phantomSet({ count: 4, seed: 1, shape, contrast: 't1' });
  const subjects: TrainingSubject[] = train.a.map((image, i) => ({ id: `train-${train.seeds.a[i]}`, image, label: train.labels[i] }));
  const sets: Record<string, { image: Volume; label: Volume }[]> = {};
  for (const [range, first] of [['validation', valSeed], ['held-out', HELD_OUT_SEED]] as const) {
    sets[`${range}, same scanner`] = [];
    sets[`${range}, other scanners`] = [];
    for (let i = 0; i < count; i++) {
      const s = first + i;
      const same = generatePhantom({ region: 'head', seed: s, shape });
      sets[`${range}, same scanner`].push({ image: same.t1, label: same.labels });
      const other = generatePhantom({ region: 'head', seed: s + 1000, shape, scanner: randomSiteEffects(s + 1000) });
      sets[`${range}, other scanners`].push({ image: other.t1, label: other.labels });
    }
  }
  const config = `2-D U-Net (filters ${values.filters}, depth ${depth}${values['class-balanced'] ? ', class-balanced patches' : ''}), 4 training phantoms ${shape.join('×')}, ${steps} steps, batch ${values.batch}, lr ${values.lr}, seed ${seed}; ${count} subjects per set (validation seeds from ${valSeed}, held-out from ${HELD_OUT_SEED})`;
  const out: ArmResult[] = [];
  for (const mode of modes) {
    const t0 = Date.now();
    let last = 0;
    const augmentation = pipelineFor(mode);
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
      ...(augmentation !== undefined ? { augmentation } : {}),
      onStep: (s) => {
        if (Date.now() - last > 15_000 || s.step === s.totalSteps) {
          last = Date.now();
          process.stderr.write(`[${mode}] step ${s.step}/${s.totalSteps} loss ${s.loss.toFixed(3)} (ce ${s.ce.toFixed(3)}, dice ${s.dice.toFixed(3)}) ${s.secondsPerStep.toFixed(2)} s/step\n`);
        }
      },
    });
    const scores: ArmResult['scores'] = {};
    for (const [name, set] of Object.entries(sets)) scores[name] = evaluate(r.segmenter, set);
    process.stderr.write(`[${mode}] trained and evaluated in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    r.segmenter.dispose();
    out.push({ mode, config, scores });
  }
  return out;
}

const classes = TISSUES.filter((t) => t.id !== 0).map((t) => ({ value: t.id, name: t.name }));

function evaluate(seg: LearnedSegmenter, set: { image: Volume; label: Volume }[]): Record<string, number> {
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
  const out: Record<string, number> = {};
  for (const c of classes) {
    const e = sums.get(c.value);
    if (e !== undefined) out[c.name] = e.sum / e.n;
  }
  return out;
}

const mean = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`.padStart(7);

/** Mean over the classes every arm scored in this set. */
function setMeans(arms: ArmResult[], set: string): number[] {
  const names = classes.map((c) => c.name).filter((n) => arms.every((a) => a.scores[set]?.[n] !== undefined));
  return arms.map((a) => mean(names.map((n) => a.scores[set][n])));
}

function report(arms: ArmResult[]): void {
  console.log(arms[0].config);
  const sets = Object.keys(arms[0].scores);
  for (const set of sets) {
    console.log(`\n${set}: mean Dice per class`);
    console.log(`${'class'.padEnd(18)} ${arms.map((a) => LABEL[a.mode].padStart(7)).join(' ')}`);
    for (const c of classes) {
      const v = arms.map((a) => a.scores[set][c.name]);
      if (v.some((x) => x === undefined)) continue;
      console.log(`${c.name.padEnd(18)} ${v.map((x) => x.toFixed(3).padStart(7)).join(' ')}`);
    }
    console.log(`${'mean'.padEnd(18)} ${setMeans(arms, set).map((x) => x.toFixed(3).padStart(7)).join(' ')}`);
  }
  const none = arms.find((a) => a.mode === 'none');
  const augmented = arms.filter((a) => a.mode !== 'none');
  if (none === undefined || augmented.length === 0) return;
  // The choice uses the validation range only.
  const valSets = sets.filter((s) => s.startsWith('validation'));
  const valScore = (a: ArmResult): number => mean(valSets.map((s) => setMeans([none, a], s)[1]));
  const chosen = augmented.reduce((best, a) => (valScore(a) > valScore(best) ? a : best));
  console.log(`\nchosen on the validation range: ${LABEL[chosen.mode]} (validation mean ${valScore(chosen).toFixed(3)}; ${augmented.map((a) => `${LABEL[a.mode]} ${valScore(a).toFixed(3)}`).join(', ')}; no aug ${mean(valSets.map((s) => setMeans([none, none], s)[0])).toFixed(3)})`);
  for (const set of sets.filter((s) => s.startsWith('held-out'))) {
    const [a, b] = setMeans([none, chosen], set);
    console.log(`${set}: no aug ${a.toFixed(3)} → ${LABEL[chosen.mode]} ${b.toFixed(3)} (${signed(b - a).trim()})`);
  }
}

if (values.merge) {
  const arms = positionals.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as ArmResult[]);
  arms.sort((a, b) => MODES.indexOf(a.mode) - MODES.indexOf(b.mode));
  report(arms);
} else {
  const arms = await runArms();
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(arms, null, 1));
  report(arms);
}
