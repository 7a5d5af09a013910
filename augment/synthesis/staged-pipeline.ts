/**
 * A JSON pipeline whose top-level steps may include GAN steps (`Translate`, `LabelToImageGAN`, see
 * gan-steps.ts): the list is cut at each GAN step into synchronous parts (composed as parsePipeline
 * would) and async GAN stages, run in order on one sample's generator:
 *
 *   [RandomAffine, RandomElastic, LabelToImageGAN, RandomGamma]
 *     → sync(RandomAffine, RandomElastic) → LabelToImageGAN → sync(RandomGamma)
 *
 * Cutting changes nothing for the synchronous steps: compose samples its members in turn on one
 * generator, so the parts draw the same numbers as the whole list would (a GAN step with p = 1 draws
 * none). Errors name the key in the whole list (`pipeline[3].rotationDeg`, `pipeline[2].model`).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Rng } from '../../volumes/random.ts';
import { compose } from '../compose.ts';
import { OptionReader } from '../options.ts';
import { isGanStepType, parsePipeline, parseStep } from '../pipeline.ts';
import type { Subject } from '../subject.ts';
import type { Transform } from '../transform.ts';
import { applyGanStep, checkGanStep, parseGanStep } from './gan-steps.ts';
import type { GanModelInfo, GanModels, GanStep } from './gan-steps.ts';

export type Stage = { kind: 'sync'; transform: Transform } | { kind: 'gan'; step: GanStep };

export interface StagedPipeline {
  readonly stages: readonly Stage[];
  /** The GAN steps, in order. */
  readonly gan: readonly GanStep[];
}

/** A pipeline without GAN steps, as one synchronous stage. */
export function syncStaged(transform: Transform): StagedPipeline {
  return { stages: [{ kind: 'sync', transform }], gan: [] };
}

function stepList(value: unknown, where: string): unknown[] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const r = new OptionReader(where, value, ['name', 'description', 'transforms']);
    if (!r.has('transforms')) r.fail('transforms', 'expected an array of steps', undefined);
    value = (value as { transforms: unknown }).transforms;
  }
  if (!Array.isArray(value)) throw new VoxshiftError('INVALID_ARGUMENT', `${where}: expected an array of steps, got ${typeof value}`, { param: where });
  return value;
}

/**
 * Validates a pipeline (a string or parsed JSON) whose top level may hold GAN steps; relative model
 * paths are resolved against `baseDir` (the pipeline file's folder). Synchronous only: the models are
 * checked by `checkGanModels`.
 */
export function parseStagedPipeline(json: unknown, options: { where?: string; baseDir?: string } = {}): StagedPipeline {
  const where = options.where ?? 'pipeline';
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${where}: not valid JSON (${(e as Error).message})`, { param: where });
    }
  }
  const list = stepList(value, where);
  const hasGan = list.some((s) => typeof s === 'object' && s !== null && isGanStepType((s as { type?: unknown }).type));
  // Without GAN steps: exactly parsePipeline's transform.
  if (!hasGan) return syncStaged(parsePipeline(value, where));
  const stages: Stage[] = [];
  const gan: GanStep[] = [];
  let run: Transform[] = [];
  const flush = (): void => {
    if (run.length > 0) stages.push({ kind: 'sync', transform: compose(run) });
    run = [];
  };
  list.forEach((step, i) => {
    const at = `${where}[${i}]`;
    if (typeof step === 'object' && step !== null && !Array.isArray(step) && isGanStepType((step as { type?: unknown }).type)) {
      flush();
      const g = parseGanStep(step as Record<string, unknown>, at, options.baseDir);
      stages.push({ kind: 'gan', step: g });
      gan.push(g);
    } else {
      run.push(parseStep(step, at));
    }
  });
  flush();
  return { stages, gan };
}

/** Checks every GAN step's checkpoint (before any work); the first bad one throws, naming its key. */
export async function checkGanModels(p: StagedPipeline): Promise<GanModelInfo[]> {
  const out: GanModelInfo[] = [];
  for (const s of p.gan) out.push(await checkGanStep(s));
  return out;
}

/** Runs the pipeline on one subject with one sample's generator; GAN steps use (and fill) `models`. */
export async function applyStaged(p: StagedPipeline, subject: Subject, rng: Rng, models: GanModels): Promise<Subject> {
  let s = subject;
  for (const stage of p.stages) s = stage.kind === 'sync' ? stage.transform.apply(s, rng) : await applyGanStep(stage.step, s, rng, models);
  return s;
}
