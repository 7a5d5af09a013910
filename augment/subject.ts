/**
 * A subject (TorchIO's Subject): named volumes sharing one voxel grid — images and label maps of
 * one patient, e.g. `{ t1, ct, labels }`. Augmentation transforms act on whole subjects so every
 * volume gets the same geometric mapping.
 */
import { sameGeometry } from '../volumes/affine.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';

export type Subject = Readonly<Record<string, Volume>>;

function isVolume(v: unknown): v is Volume {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return ArrayBuffer.isView(o.data) && Array.isArray(o.shape) && (o.kind === 'intensity' || o.kind === 'label');
}

/**
 * Checks and freezes a subject: at least one volume, every entry a Volume, and every volume on the
 * grid of the first (same shape, affine within 1e-3 mm); otherwise GEOMETRY_MISMATCH naming both keys.
 */
export function createSubject(volumes: Record<string, Volume>): Subject {
  if (typeof volumes !== 'object' || volumes === null) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'a subject must be an object of named volumes', { param: 'subject' });
  }
  const keys = Object.keys(volumes);
  if (keys.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'a subject needs at least one volume', { param: 'subject' });
  for (const k of keys) {
    if (!isVolume(volumes[k])) {
      throw new VoxshiftError('INVALID_ARGUMENT', `subject.${k} is not a Volume (data, shape, kind)`, { param: `subject.${k}` });
    }
  }
  const first = volumes[keys[0]];
  for (const k of keys.slice(1)) {
    const v = volumes[k];
    if (!sameGeometry(first, v)) {
      throw new VoxshiftError(
        'GEOMETRY_MISMATCH',
        `subject.${k} (shape [${v.shape.join(', ')}]) is not on the grid of subject.${keys[0]} (shape [${first.shape.join(', ')}]); resample it first`,
        { param: `subject.${k}`, details: { reference: keys[0], shape: [...v.shape], referenceShape: [...first.shape] } },
      );
    }
  }
  return Object.freeze({ ...volumes });
}

/** The first volume: the grid every volume of the subject shares. */
export function subjectGrid(subject: Subject): Volume {
  const keys = Object.keys(subject);
  if (keys.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'the subject has no volumes', { param: 'subject' });
  return subject[keys[0]];
}
