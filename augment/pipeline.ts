/**
 * Augmentation pipelines as JSON, validated before anything runs. A pipeline is an array of steps
 * (or `{ "transforms": [...] }`); a step is `{ "type": <name>, ...options }` where the name is a
 * random transform (`RandomAffine`...), a twin (`CropOrPad`...), `Compose` (`transforms`) or `OneOf`
 * (`transforms`, optional `weights` and `p`). Any bad value names its key:
 * `pipeline[2].rotationDeg: expected [min, max] numbers with min <= max, got "x"`.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import { compose } from './compose.ts';
import { oneOf } from './one-of.ts';
import { OptionReader } from './options.ts';
import { RANDOM_TRANSFORMS, TWINS } from './registry.ts';
import type { Transform } from './transform.ts';

export interface PipelineStep {
  type: string;
  [option: string]: unknown;
}

/**
 * Steps that run a GAN (async: onnxruntime or tfjs), see synthesis/gan-steps.ts. parsePipeline refuses
 * them with a pointer; the dataset export (synthesis/staged-pipeline.ts) runs them between the
 * synchronous parts of a pipeline.
 */
export const GAN_STEP_TYPES = ['Translate', 'LabelToImageGAN'] as const;
export type GanStepType = (typeof GAN_STEP_TYPES)[number];

export function isGanStepType(type: unknown): type is GanStepType {
  return (GAN_STEP_TYPES as readonly unknown[]).includes(type);
}

export type PipelineJson = PipelineStep[] | { name?: string; description?: string; transforms: PipelineStep[] };

function bad(param: string, message: string): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `${param}: ${message}`, { param });
}

function parseList(list: unknown, where: string): Transform[] {
  if (!Array.isArray(list)) bad(where, `expected an array of steps, got ${typeof list}`);
  return list.map((step, i) => parseStep(step, `${where}[${i}]`));
}

/** One synchronous step (`where` names it in errors, e.g. "pipeline[2]"). */
export function parseStep(step: unknown, where: string): Transform {
  if (typeof step !== 'object' || step === null || Array.isArray(step)) bad(where, 'expected an object { "type": ..., ...options }');
  const { type, ...options } = step as Record<string, unknown>;
  if (isGanStepType(type)) {
    bad(
      `${where}.type`,
      `${type} runs a GAN (async), so it can only be a top-level step of a pipeline run by the dataset export (voxshift augment, exportDataset), not inside Compose/OneOf or in a synchronous pipeline`,
    );
  }
  if (type === 'Compose') {
    new OptionReader(where, options, ['transforms']);
    return compose(parseList(options.transforms, `${where}.transforms`));
  }
  if (type === 'OneOf') {
    const r = new OptionReader(where, options, ['transforms', 'weights', 'p']);
    const list = parseList(options.transforms, `${where}.transforms`);
    if (list.length === 0) r.fail('transforms', 'expected at least one step', options.transforms);
    const weights = r.has('weights') ? r.numbers('weights', undefined, list.length) : undefined;
    if (weights && (weights.some((w) => w < 0) || !(weights.reduce((a, b) => a + b, 0) > 0))) {
      r.fail('weights', 'expected non-negative numbers with a positive sum', weights);
    }
    return oneOf(list, weights, r.prob('p', 1));
  }
  const known = [...Object.keys(RANDOM_TRANSFORMS), ...Object.keys(TWINS), 'Compose', 'OneOf'];
  if (typeof type !== 'string' || !known.includes(type)) {
    bad(`${where}.type`, `unknown transform ${JSON.stringify(type)} (expected one of ${known.join(', ')})`);
  }
  const factory = (RANDOM_TRANSFORMS[type] ?? TWINS[type]) as (o: unknown, w: string) => Transform;
  return factory(options, where);
}

/** Validates and builds a pipeline from JSON (a string or the parsed value). */
export function parsePipeline(json: unknown, where = 'pipeline'): Transform {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      bad(where, `not valid JSON (${(e as Error).message})`);
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const r = new OptionReader(where, value, ['name', 'description', 'transforms']);
    if (!r.has('transforms')) r.fail('transforms', 'expected an array of steps', undefined);
    return compose(parseList((value as { transforms: unknown }).transforms, where));
  }
  return compose(parseList(value, where));
}
