/**
 * Trains a shipped demo model again from scratch with the exact command recorded in its manifest
 * (the one README.md documents), then prints the wall time and the held-out MAE of the new model next
 * to the shipped one's and the linear baseline's.
 *
 *   npx tsx bench/train.ts [--model phantom-mr2ct-pix2pix-2d|phantom-mr2ct-cyclegan-2d] [--steps N] [--subjects N]
 * --steps shortens the run (for a quick check; the MAE is then not comparable).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { initBackend } from '../models3d/engine/backend.ts';
import { evaluateOnPhantoms } from '../models3d/evaluation/phantom-evaluation.ts';
import { loadTranslator } from '../models3d/inference/translate.ts';
import { shippedModelDir, type ShippedModel } from '../models3d/shipped-models.ts';

const { values: args } = parseArgs({
  options: { model: { type: 'string', default: 'phantom-mr2ct-pix2pix-2d' }, steps: { type: 'string' }, subjects: { type: 'string', default: '3' } },
});
const shipped = shippedModelDir(args.model as ShippedModel);
const shippedTranslator = await loadTranslator(shipped);
const command = shippedTranslator.manifest.notes?.command;
if (typeof command !== 'string' || !command.startsWith('voxshift train ')) throw new Error(`${shipped}: manifest has no recorded training command`);
const argv = command.slice('voxshift '.length).split(/\s+/);
const outDir = join('out', 'bench', `train-${args.model}`);
const set = (flag: string, value: string): void => {
  const i = argv.indexOf(flag);
  if (i >= 0) argv[i + 1] = value;
  else argv.push(flag, value);
};
set('--out', outDir);
if (args.steps !== undefined) set('--steps', args.steps);
const threads = argv.indexOf('--threads');
if (threads >= 0) argv.splice(threads, 2);
console.log(`voxshift ${argv.join(' ')}`);
const t0 = performance.now();
const code = await main(argv);
const wall = (performance.now() - t0) / 1000;
if (code !== 0) throw new Error(`training exited with ${code}`);
await initBackend('auto');
const subjects = Number(args.subjects);
const fresh = await loadTranslator(join(outDir, 'model'));
const rFresh = await evaluateOnPhantoms(fresh, { subjects });
const rShipped = await evaluateOnPhantoms(shippedTranslator, { subjects });
console.log(`\ntraining wall time: ${wall.toFixed(0)} s (${fresh.manifest.step} steps, ${(wall / fresh.manifest.step).toFixed(3)} s/step incl. data generation)`);
console.log(`held-out MAE in the body over ${subjects} subjects: retrained ${rFresh.modelMae.toFixed(1)} HU, shipped ${rShipped.modelMae.toFixed(1)} HU, linear fit ${rFresh.baselineMae.toFixed(1)} HU`);
console.log(`ratio linear / retrained: ${rFresh.improvement.toFixed(2)}×`);
fresh.dispose();
shippedTranslator.dispose();
