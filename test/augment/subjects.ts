/** Small test subjects for the augmentation tests: head phantoms (cached) and label × 100 subjects. */
import { createSubject } from '../../augment/subject.ts';
import type { Subject } from '../../augment/subject.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import type { Phantom } from '../../volumes/phantom/index.ts';
import { createVolume, deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';

const cache = new Map<string, Phantom>();

/** A tilted (about z by 20°) grid direction, so world and voxel axes differ. */
const c = Math.cos((20 * Math.PI) / 180);
const s = Math.sin((20 * Math.PI) / 180);
export const TILTED = [c, -s, 0, s, c, 0, 0, 0, 1];

export function phantom(seed: number, shape: readonly number[] = [32, 32, 24], tilted = false): Phantom {
  const key = `${seed}/${shape.join('x')}/${tilted}`;
  let p = cache.get(key);
  if (!p) {
    p = generatePhantom({ region: 'head', seed, shape, ...(tilted ? { direction: TILTED } : {}) });
    cache.set(key, p);
  }
  return p;
}

/** { t1, ct, labels } of a head phantom. */
export function phantomSubject(seed: number, shape?: readonly number[], tilted = false): Subject {
  const p = phantom(seed, shape, tilted);
  return createSubject({ t1: p.t1, ct: p.ct, labels: p.labels });
}

/** { image, labels } with image = labels × 100 exactly (float32). */
export function label100Subject(seed: number, tilted = false): Subject {
  const labels = phantom(seed, undefined, tilted).labels;
  const image = deriveVolume(labels, { data: Float32Array.from(labels.data, (v) => v * 100), kind: 'intensity', modality: 'MR' });
  return createSubject({ image, labels });
}

/** A smooth Gaussian-blob image on the phantom's grid, for interpolation-tolerance tests. */
export function blobVolume(like: Volume): Volume<Float32Array> {
  const [nx, ny, nz] = like.shape;
  const d = new Float32Array(nx * ny * nz);
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const x = (i - (nx - 1) / 2) / (nx / 4);
        const y = (j - (ny - 1) / 2) / (ny / 4);
        const z = (k - (nz - 1) / 2) / (nz / 4);
        d[o++] = 1000 * Math.exp(-(x * x + y * y + z * z) / 2);
      }
    }
  }
  return createVolume({ data: d, shape: like.shape, spacing: like.spacing, origin: like.origin, direction: like.direction, kind: 'intensity' });
}

export function bytesOf(v: Volume): Buffer {
  return Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
}

export function labelSet(v: Volume): Set<number> {
  return new Set(v.data);
}
