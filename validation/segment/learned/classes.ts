/**
 * The classes of a learned segmenter: class index c (the network's output channel) ↔ label value
 * (what the label maps hold, what the output label map holds) ↔ name, with class 0 the background
 * (label value 0). Given explicitly ("1=liver,2=kidney"), other label values of the training maps
 * count as background; found from the data, every value present is a class.
 */
import { VoxshiftError } from '../../../volumes/errors.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { SHARED_CLASS_NAMES, type SharedClass } from '../segmenter.ts';

export interface SegmenterClass {
  /** Label value in the label maps, 0..255 (0 is the background). */
  value: number;
  name: string;
}

/** Label value → SharedClass, for the validation Segmenter interface. */
export type SharedClassMapping = Readonly<Record<number, SharedClass>>;

function bad(param: string, message: string, received: unknown): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(received)}`, { param, details: { received } });
}

/** Parses "1=liver,2=kidney" (value=name pairs; values 1..255, names non-empty, no repeats). */
export function parseClassSpec(text: string, param = 'classes'): SegmenterClass[] {
  if (typeof text !== 'string' || text.trim() === '') bad(param, 'must be value=name pairs like "1=liver,2=kidney"', text);
  const out: SegmenterClass[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*=\s*([^=]+?)\s*$/.exec(part);
    if (!m) bad(param, `has "${part}", expected value=name (e.g. 1=liver)`, text);
    out.push({ value: Number(m[1]), name: m[2] });
  }
  return checkClasses(out, param);
}

/** Checks foreground classes: integer values 1..255, unique values and names. */
export function checkClasses(classes: readonly SegmenterClass[], param = 'classes'): SegmenterClass[] {
  if (!Array.isArray(classes) || classes.length === 0) bad(param, 'must list at least one foreground class', classes);
  const values = new Set<number>();
  const names = new Set<string>(['background']);
  for (const c of classes) {
    if (typeof c !== 'object' || c === null || !Number.isInteger(c.value) || c.value < 1 || c.value > 255) {
      bad(param, 'values must be integers 1..255 (0 is the background)', c?.value);
    }
    if (typeof c.name !== 'string' || c.name.length === 0) bad(param, `class ${c.value} needs a non-empty name`, c.name);
    if (values.has(c.value)) bad(param, `lists label value ${c.value} twice`, classes);
    if (names.has(c.name)) bad(param, `uses the name "${c.name}" twice (background is reserved)`, classes);
    values.add(c.value);
    names.add(c.name);
  }
  return classes.map((c) => ({ value: c.value, name: c.name }));
}

/**
 * Refuses a label map with a non-integer, negative or non-finite value (naming the voxel), or that
 * is not one channel. `name` names the file or subject in the message.
 */
export function checkLabelMap(label: Volume, name: string): void {
  if (label.channels !== 1) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: a label map has one channel, got ${label.channels}`, { param: 'labels', details: { name } });
  }
  const d = label.data;
  const [nx, ny] = label.shape;
  for (let p = 0; p < d.length; p++) {
    const v = d[p];
    if (!(Number.isInteger(v) && v >= 0)) {
      const ijk = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      throw new VoxshiftError(
        'INVALID_VOLUME',
        `${name}: label map voxel [${ijk.join(', ')}] is ${v}; label maps must hold non-negative integers (is this an image rather than a label map?)`,
        { param: 'labels', details: { name, index: ijk, value: String(v) } },
      );
    }
  }
}

/**
 * Background first, then `given` (in its order), or, without it, every non-zero value found in the
 * label maps (ascending, named `label-<value>`).
 */
export function resolveClasses(given: readonly SegmenterClass[] | undefined, labels: readonly Volume[]): SegmenterClass[] {
  const background = { value: 0, name: 'background' };
  if (given !== undefined) return [background, ...checkClasses(given)];
  const seen = new Set<number>();
  for (const l of labels) for (let p = 0; p < l.data.length; p++) seen.add(l.data[p]);
  seen.delete(0);
  const values = [...seen].sort((a, b) => a - b);
  const tooBig = values.find((v) => v > 255);
  if (tooBig !== undefined) {
    throw new VoxshiftError('INVALID_ARGUMENT', `the label maps hold value ${tooBig}; name the classes to learn (values 1..255) with classes / --classes`, {
      param: 'classes',
    });
  }
  if (values.length === 0) {
    throw new VoxshiftError('INVALID_VOLUME', 'the label maps hold only background (0); nothing to learn', { param: 'labels' });
  }
  return [background, ...values.map((value) => ({ value, name: `label-${value}` }))];
}

/** Class index (as float, for the patch sampler) of every voxel; values that are no class give 0. */
export function classIndexMap(label: Volume, classes: readonly SegmenterClass[]): Float32Array {
  const lut = new Map(classes.map((c, i) => [c.value, i]));
  const d = label.data;
  const out = new Float32Array(d.length);
  for (let p = 0; p < d.length; p++) out[p] = lut.get(d[p]) ?? 0;
  return out;
}

/** Checks a label value → SharedClass mapping against the classes (every class needs one; 0 defaults to outside). */
export function resolveSharedMapping(mapping: SharedClassMapping, classes: readonly SegmenterClass[], param = 'sharedClasses'): Record<number, SharedClass> {
  if (typeof mapping !== 'object' || mapping === null) bad(param, 'must be an object label value → shared class id', mapping);
  const out: Record<number, SharedClass> = {};
  const known = new Set(classes.map((c) => c.value));
  for (const [k, v] of Object.entries(mapping)) {
    const value = Number(k);
    if (!known.has(value)) bad(`${param}.${k}`, `is not a label value of this segmenter (${[...known].join(', ')})`, k);
    if (!(Number.isInteger(v) && v in SHARED_CLASS_NAMES)) bad(`${param}.${k}`, `must be a shared class id 0..6 (${Object.entries(SHARED_CLASS_NAMES).map(([i, n]) => `${i}=${n}`).join(', ')})`, v);
    out[value] = v;
  }
  if (out[0] === undefined) out[0] = 0;
  const missing = classes.filter((c) => out[c.value] === undefined);
  if (missing.length > 0) {
    bad(param, `has no shared class for label value(s) ${missing.map((c) => `${c.value} (${c.name})`).join(', ')}; every class must be mapped`, mapping);
  }
  return out;
}
