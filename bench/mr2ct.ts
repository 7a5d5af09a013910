/**
 * Accuracy of the shipped MR→CT models on phantom subjects they never saw: MAE (HU) and SSIM inside
 * the body for the model and for the global linear MR→HU fit (fitted on the training subjects), per
 * subject and on average, with the ratio baseline / model. The Pix2Pix model must be ≥ 2× better; the
 * CycleGAN one (trained without pairs) is reported as it is.
 *
 *   npx tsx bench/mr2ct.ts [--subjects N] [--model DIR ...]
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../models3d/engine/backend.ts';
import { evaluateOnPhantoms } from '../models3d/evaluation/phantom-evaluation.ts';
import { loadTranslator } from '../models3d/inference/translate.ts';
import { SHIPPED_MODELS, shippedModelDir, type ShippedModel } from '../models3d/shipped-models.ts';
import { createProgressBar } from '../cli/progress.ts';

const { values: args } = parseArgs({ options: { subjects: { type: 'string', default: '5' }, model: { type: 'string', multiple: true } } });
const subjects = Number(args.subjects);
await initBackend('auto', { log: (s) => process.stderr.write(`${s}\n`) });
const models = args.model ?? Object.keys(SHIPPED_MODELS).map((m) => shippedModelDir(m as ShippedModel));
let failed = false;
for (const dir of models) {
  const t = await loadTranslator(dir);
  const bar = createProgressBar(dir.split('/').pop() ?? dir);
  const r = await evaluateOnPhantoms(t, { subjects, onSubject: (d, n) => bar.update(d, n) });
  bar.stop();
  console.log(`\n${dir}: ${t.config.kind} ${t.config.spatialDims}D, ${t.config.generator.type} ngf ${t.config.generator.ngf}, ${t.manifest.step} steps; ${t.runtimeDescription}`);
  console.log('subject seed | model MAE HU | linear MAE HU | model SSIM | linear SSIM');
  for (const s of r.subjects) {
    console.log(`${String(s.seed).padStart(12)} | ${s.modelMae.toFixed(1).padStart(12)} | ${s.baselineMae.toFixed(1).padStart(13)} | ${s.modelSsim.toFixed(3).padStart(10)} | ${s.baselineSsim.toFixed(3).padStart(11)}`);
  }
  console.log(`${'mean'.padStart(12)} | ${r.modelMae.toFixed(1).padStart(12)} | ${r.baselineMae.toFixed(1).padStart(13)} | ${r.modelSsim.toFixed(3).padStart(10)} | ${r.baselineSsim.toFixed(3).padStart(11)}`);
  console.log(`MAE ratio linear / model: ${r.improvement.toFixed(2)}× (linear fit: HU = ${r.fit.slope.toFixed(3)}·MR + ${r.fit.intercept.toFixed(1)}); ${r.seconds.toFixed(1)} s`);
  if (t.config.kind === 'pix2pix' && r.improvement < 2) {
    console.log('FAIL: the paired model must be at least 2× better than the linear fit');
    failed = true;
  }
  t.dispose();
}
process.exitCode = failed ? 1 : 0;
