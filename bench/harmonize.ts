/**
 * The harmonisation experiment of issue 6 (Done-when #1): a simulated 3-site head phantom cohort
 * (harmonize/phantom-sites.ts), every method fitted on training subjects and scored on held-out
 * ones — site classifier accuracy, Wasserstein distances, tissue Dice — printed side by side.
 * Writes the report JSON and the per-site histogram PNG to out/bench-harmonize/.
 *
 *   npx tsx bench/harmonize.ts [--subjects 16] [--train 6] [--shape 96,96,64] [--cyclegan-steps 120] [--no-cyclegan]
 *                              [--sites default|realistic] [--threads 1] [--unet-steps 1000] [--n4 zscore,nyul,histmatch | --no-n4]
 *
 * Anatomy is also measured with a 2-D U-Net trained on the reference site's training subjects only
 * (harmonize/measure/learned-anatomy.ts; --unet-steps); the `+n4` rows run bias-field correction
 * (harmonize/bias-correct.ts) before the classical methods listed by --n4 (--no-n4: none).
 *
 * The CycleGANs are tiny (ngf 8, 2 residual blocks, 32² patches, batch 4) and trained briefly at a
 * raised learning rate (1e-3) so the whole run fits in a few minutes of shared CPU; they are far
 * from converged (the CycleGAN paper trains 200 epochs), and the table says how far.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../models3d/engine/backend.ts';
import { PHANTOM_REFERENCE_SITE, PHANTOM_SITES, PHANTOM_SITES_REALISTIC, phantomSiteCohort } from '../harmonize/phantom-sites.ts';
import { formatReport, harmonizationReport, type ExperimentSubject } from '../harmonize/measure/report.ts';
import type { ReportMethod } from '../harmonize/measure/report.ts';

function arg(name: string, fallback: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 && k + 1 < process.argv.length ? process.argv[k + 1] : fallback;
}

const subjects = Number(arg('subjects', '16'));
const nTrain = Number(arg('train', '6'));
const siteSet = arg('sites', 'default');
if (siteSet !== 'default' && siteSet !== 'realistic') throw new Error(`--sites must be default or realistic, got ${siteSet}`);
const threads = process.argv.includes('--threads') ? Number(arg('threads', '1')) : undefined;
const shape = arg('shape', '96,96,64').split(',').map(Number);
const steps = Number(arg('cyclegan-steps', '120'));
const withCycleGan = !process.argv.includes('--no-cyclegan');
const n4 = process.argv.includes('--no-n4') ? [] : arg('n4', 'zscore,nyul,histmatch').split(',').map((m) => `${m.trim()}+n4` as ReportMethod);
const unetSteps = Number(arg('unet-steps', '1000'));
const outDir = join(import.meta.dirname, '..', 'out', siteSet === 'default' ? 'bench-harmonize' : 'bench-harmonize-realistic');
mkdirSync(outDir, { recursive: true });

const t0 = performance.now();
const say = (s: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);
await initBackend('auto', { log: say, ...(threads !== undefined ? { threads } : {}) });
say(`rendering ${subjects} subjects × 3 sites (${siteSet}) on a ${shape.join('×')} grid`);
const cohort = phantomSiteCohort({ subjects, seed: 7, shape, sites: siteSet === 'default' ? PHANTOM_SITES : PHANTOM_SITES_REALISTIC });
const list: ExperimentSubject[] = cohort.map((s) => ({ ...s, role: Number(s.subjectId.split('-').pop()) < nTrain ? 'train' : 'test' }));
const methods: ReportMethod[] = [
  'zscore',
  'whitestripe',
  'nyul',
  'histmatch',
  ...n4,
  ...(withCycleGan ? (['cyclegan'] as const) : []),
  'combat',
];
const report = await harmonizationReport({
  subjects: list,
  reference: PHANTOM_REFERENCE_SITE,
  methods,
  cyclegan: {
    workDir: join(outDir, 'cyclegan'),
    spatialDims: 2,
    config: {
      generator: { ngf: 8, blocks: 2 },
      discriminator: { ndf: 8, layers: 2 },
      optimizer: { learningRate: 1e-3, constantSteps: Math.ceil(steps / 2), decaySteps: Math.floor(steps / 2) },
      data: { patchSize: [32, 32], batchSize: 4, poolSize: 20 },
      seed: 3,
    },
    onStep: (site, r) => {
      if (r.step % 40 === 0 || r.step === r.totalSteps) say(`cyclegan ${site}: step ${r.step}/${r.totalSteps}, ${r.secondsPerStep.toFixed(2)} s/step`);
    },
  },
  segmenter: { contrast: 't1' },
  learnedAnatomy: { steps: unetSteps, seed: 1 },
  log: say,
});
const { histogramPng, ...numbers } = report;
writeFileSync(join(outDir, 'histograms.png'), histogramPng);
writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(numbers, null, 1)}\n`);
console.log(`\n${formatReport(report)}`);
const show = (r: Record<string, number>): string => Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
for (const row of report.rows) {
  if (row.diceVsTruth) console.log(`${row.method.padEnd(12)} mr-seg Dice vs truth per site ${show(row.diceVsTruth.perSite)}; per class ${show(row.diceVsTruth.perClass)}`);
  if (row.learnedDiceVsTruth) console.log(`${row.method.padEnd(12)} U-Net Dice vs truth per site ${show(row.learnedDiceVsTruth.perSite)}; per class ${show(row.learnedDiceVsTruth.perClass)}`);
  if (row.diceVsOriginal) console.log(`${row.method.padEnd(12)} mr-seg Dice vs original per site ${show(row.diceVsOriginal.perSite)}; per class ${show(row.diceVsOriginal.perClass)}`);
}
say(`done; report and histograms.png in ${outDir}`);
