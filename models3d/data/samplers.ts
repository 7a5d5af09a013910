/**
 * Random training batches from domain volumes, in the channels-last layout the networks take:
 * unpaired (CycleGAN: A and B drawn independently) and paired (pix2pix: the same crop of
 * co-registered volumes). Every draw comes from the injected rng, so a seed reproduces a batch, and
 * each batch lists its picks (volume, start, flip) so it can be explained.
 *
 * A patch is a box of the volume grid: 3D [d, h, w] is the box w × h × d along x, y, z; a 2D
 * [h, w] patch is a box of extent 1 along `axis` with w along the slice's faster in-plane axis
 * (volumes/slices: axis 2 → x, y; axis 1 → x, z; axis 0 → y, z). Copied x-fastest, such a box is
 * already in [D, H, W] (or [H, W]) order, so a batch item is the box's voxels as they come.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { foregroundIndex, randomPatchStart } from '../../volumes/patches.ts';
import type { ForegroundIndex, Index3 } from '../../volumes/patches.ts';
import { randomInt } from '../../volumes/random.ts';
import type { Rng } from '../../volumes/random.ts';
import type { Axis } from '../../volumes/slices.ts';
import type { DomainVolume } from './domain-volume.ts';

export interface SamplerConfig {
  spatialDims: 2 | 3;
  /** 2D slicing axis, default 2 (fixed k). */
  axis?: Axis;
  /** 2D: [rows = height, cols = width] of the slice; 3D: [d, h, w] along z, y, x. */
  patchSize: number[];
  batchSize: number;
  /** Default false: left/right matters in medicine. When true, flips along the volume's x axis with p = 0.5. */
  flip?: boolean;
  /** Probability that a patch is centred on a body voxel (default 0.9). */
  foregroundProb?: number;
  /** Value outside the volume when it is smaller than the patch (default −1, background after normalisation). */
  padValue?: number;
}

export interface SamplePick {
  /** DomainVolume.name of the source. */
  volume: string;
  /** Position of the volume in the list (or of the pair) the sampler was built with. */
  volumeIndex: number;
  /** Voxel [i, j, k] of the volume at the patch's first element; negative where the patch is padded. */
  start: [number, number, number];
  /** Whether the patch was mirrored along x (the volume's i axis). */
  flip: boolean;
}

export interface Batch {
  a: Float32Array;
  b: Float32Array;
  /** 2D [batch, H, W, 1] (W = the slice's faster axis); 3D [batch, D, H, W, 1] with D = z, H = y, W = x. */
  shape: number[];
  picks: { a: SamplePick[]; b: SamplePick[] };
}

export interface Sampler {
  sample(rng: Rng): Batch;
}

interface Resolved {
  spatialDims: 2 | 3;
  axis: Axis;
  /** Box extent along i, j, k. */
  box: Index3;
  batchSize: number;
  flip: boolean;
  foregroundProb: number;
  padValue: number;
  itemShape: number[];
}

function bad(param: string, message: string, received: unknown): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(received)}`, {
    param,
    details: { received },
  });
}

const IN_PLANE: Record<Axis, [number, number]> = { 0: [1, 2], 1: [0, 2], 2: [0, 1] };

function resolveConfig(config: SamplerConfig): Resolved {
  if (config === null || typeof config !== 'object') throw bad('config', 'must be an object', config);
  const { spatialDims } = config;
  if (spatialDims !== 2 && spatialDims !== 3) throw bad('config.spatialDims', 'must be 2 or 3', spatialDims);
  const axis = config.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) throw bad('config.axis', 'must be 0, 1 or 2', axis);
  const ps = config.patchSize;
  if (!Array.isArray(ps) || ps.length !== spatialDims || !ps.every((n) => Number.isInteger(n) && n > 0)) {
    throw bad(
      'config.patchSize',
      `must be ${spatialDims} positive integers (${spatialDims === 2 ? '[height, width]' : '[d, h, w]'})`,
      ps,
    );
  }
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) throw bad('config.batchSize', 'must be an integer >= 1', config.batchSize);
  const flip = config.flip ?? false;
  if (typeof flip !== 'boolean') throw bad('config.flip', 'must be a boolean', flip);
  const foregroundProb = config.foregroundProb ?? 0.9;
  if (typeof foregroundProb !== 'number' || !(foregroundProb >= 0 && foregroundProb <= 1)) {
    throw bad('config.foregroundProb', 'must be a number in [0, 1]', foregroundProb);
  }
  const padValue = config.padValue ?? -1;
  if (typeof padValue !== 'number' || !Number.isFinite(padValue)) throw bad('config.padValue', 'must be a finite number', padValue);
  let box: Index3;
  if (spatialDims === 3) box = [ps[2], ps[1], ps[0]];
  else {
    const [u, v] = IN_PLANE[axis];
    box = [1, 1, 1];
    box[u] = ps[1];
    box[v] = ps[0];
  }
  return { spatialDims, axis, box, batchSize: config.batchSize, flip, foregroundProb, padValue, itemShape: [...ps, 1] };
}

function checkDomainVolume(v: DomainVolume, param: string): void {
  if (v === null || typeof v !== 'object') throw bad(param, 'must be a DomainVolume (see prepareDomainVolume)', v);
  const s = v.shape;
  if (!Array.isArray(s) || s.length !== 3 || !s.every((n) => Number.isInteger(n) && n > 0)) {
    throw bad(`${param}.shape`, 'must be 3 positive integers', s);
  }
  const n = s[0] * s[1] * s[2];
  if (!(v.data instanceof Float32Array) || v.data.length !== n) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} (${v.name}): data must be a Float32Array of ${n} values (shape [${s.join(', ')}])`, {
      param,
    });
  }
  if (!(v.foreground instanceof Uint8Array) || v.foreground.length !== n) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} (${v.name}): foreground must be a Uint8Array of ${n} values (shape [${s.join(', ')}])`, {
      param,
    });
  }
}

function checkList<T>(list: T[], param: string): void {
  if (!Array.isArray(list) || list.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a non-empty array, got ${Array.isArray(list) ? 'an empty array' : JSON.stringify(list)}`, {
      param,
    });
  }
}

function checkRng(rng: Rng): void {
  if (typeof rng !== 'function') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'rng must be a function returning numbers in [0, 1) (see createRng)', { param: 'rng' });
  }
}

/**
 * A patch start for `shape`. Along axes where the volume is at least the patch, randomPatchStart
 * (foreground-weighted); where it is smaller, the patch covers the whole extent at a random offset
 * (start in [n − size, 0], the rest padded).
 */
function drawStart(shape: Index3, cfg: Resolved, fg: ForegroundIndex, rng: Rng): Index3 {
  const inside = shape.map((n, a) => Math.min(n, cfg.box[a]));
  const s = randomPatchStart(shape, inside, rng, fg, cfg.foregroundProb);
  for (let a = 0; a < 3; a++) if (cfg.box[a] > shape[a]) s[a] = -randomInt(rng, 0, cfg.box[a] - shape[a]);
  return s;
}

/** Copies the box at `start` (padding outside the volume, mirrored along i when `flip`) into `out` at `offset`. */
function copyPatch(data: Float32Array, shape: Index3, start: Index3, cfg: Resolved, flip: boolean, out: Float32Array, offset: number): void {
  const [nx, ny, nz] = shape;
  const [bx, by, bz] = cfg.box;
  const [sx, sy, sz] = start;
  let o = offset;
  for (let z = 0; z < bz; z++) {
    const k = sz + z;
    for (let y = 0; y < by; y++) {
      const j = sy + y;
      if (k < 0 || k >= nz || j < 0 || j >= ny) {
        out.fill(cfg.padValue, o, o + bx);
        o += bx;
        continue;
      }
      const row = nx * (j + ny * k);
      for (let x = 0; x < bx; x++) {
        const i = sx + (flip ? bx - 1 - x : x);
        out[o++] = i >= 0 && i < nx ? data[row + i] : cfg.padValue;
      }
    }
  }
}

function drawFlip(cfg: Resolved, rng: Rng): boolean {
  // A 2D slice across x (axis 0) has extent 1 along x: mirroring it would be the identity.
  if (!cfg.flip || cfg.box[0] === 1) return false;
  return rng() < 0.5;
}

function itemSize(cfg: Resolved): number {
  return cfg.box[0] * cfg.box[1] * cfg.box[2];
}

/**
 * CycleGAN batches: for each item, a volume of `a` drawn uniformly, then a patch of it; then the same
 * for `b`, independently. The foreground of each volume weights its patch starts.
 */
export function createUnpairedSampler(a: DomainVolume[], b: DomainVolume[], config: SamplerConfig): Sampler {
  const cfg = resolveConfig(config);
  checkList(a, 'a');
  checkList(b, 'b');
  a.forEach((v, i) => checkDomainVolume(v, `a[${i}]`));
  b.forEach((v, i) => checkDomainVolume(v, `b[${i}]`));
  const fgA = a.map((v) => foregroundIndex({ data: v.foreground, shape: v.shape }));
  const fgB = b.map((v) => foregroundIndex({ data: v.foreground, shape: v.shape }));
  const size = itemSize(cfg);
  const shape = [cfg.batchSize, ...cfg.itemShape];

  const fill = (vols: DomainVolume[], fgs: ForegroundIndex[], out: Float32Array, rng: Rng): SamplePick[] => {
    const picks: SamplePick[] = [];
    for (let n = 0; n < cfg.batchSize; n++) {
      const idx = randomInt(rng, 0, vols.length - 1);
      const v = vols[idx];
      const start = drawStart(v.shape, cfg, fgs[idx], rng);
      const flip = drawFlip(cfg, rng);
      copyPatch(v.data, v.shape, start, cfg, flip, out, n * size);
      picks.push({ volume: v.name, volumeIndex: idx, start, flip });
    }
    return picks;
  };

  return {
    sample(rng: Rng): Batch {
      checkRng(rng);
      const outA = new Float32Array(cfg.batchSize * size);
      const outB = new Float32Array(cfg.batchSize * size);
      const picksA = fill(a, fgA, outA, rng);
      const picksB = fill(b, fgB, outB, rng);
      return { a: outA, b: outB, shape: [...shape], picks: { a: picksA, b: picksB } };
    },
  };
}

const GEOMETRY_TOL_MM = 1e-3;

function checkPairGeometry(a: DomainVolume, b: DomainVolume, index: number): void {
  const fields: [string, readonly number[], readonly number[], number][] = [
    ['shape', a.shape, b.shape, 0],
    ['source.shape', a.source.shape, b.source.shape, 0],
    ['spacing', a.source.spacing, b.source.spacing, GEOMETRY_TOL_MM],
    ['origin', a.source.origin, b.source.origin, GEOMETRY_TOL_MM],
    ['direction', a.source.direction, b.source.direction, GEOMETRY_TOL_MM],
  ];
  for (const [field, va, vb, tol] of fields) {
    if (va.length !== vb.length || va.some((x, i) => !(Math.abs(x - vb[i]) <= tol))) {
      throw new VoxshiftError(
        'GEOMETRY_MISMATCH',
        `pairs[${index}]: "${a.name}" and "${b.name}" differ in ${field}: [${va.join(', ')}] vs [${vb.join(', ')}]` +
          `${tol > 0 ? ` (tolerance ${tol} mm)` : ''}; a paired sample needs both volumes on one grid (resample one onto the other first)`,
        { param: `pairs[${index}]`, details: { a: a.name, b: b.name, field, valueA: [...va], valueB: [...vb] } },
      );
    }
  }
}

/**
 * pix2pix batches: for each item a pair drawn uniformly, then one start and flip used for both of
 * its volumes. Patch starts are weighted by the union of the two foregrounds. Every pair must share
 * shape, spacing, origin and direction (within 1e-3), else GEOMETRY_MISMATCH.
 */
export function createPairedSampler(pairs: { a: DomainVolume; b: DomainVolume }[], config: SamplerConfig): Sampler {
  const cfg = resolveConfig(config);
  checkList(pairs, 'pairs');
  pairs.forEach((p, i) => {
    if (p === null || typeof p !== 'object') throw bad(`pairs[${i}]`, 'must be { a, b } of DomainVolumes', p);
    checkDomainVolume(p.a, `pairs[${i}].a`);
    checkDomainVolume(p.b, `pairs[${i}].b`);
    checkPairGeometry(p.a, p.b, i);
  });
  const fgs = pairs.map(({ a, b }) => {
    const union = new Uint8Array(a.foreground.length);
    for (let q = 0; q < union.length; q++) union[q] = a.foreground[q] | b.foreground[q];
    return foregroundIndex({ data: union, shape: a.shape });
  });
  const size = itemSize(cfg);
  const shape = [cfg.batchSize, ...cfg.itemShape];
  return {
    sample(rng: Rng): Batch {
      checkRng(rng);
      const outA = new Float32Array(cfg.batchSize * size);
      const outB = new Float32Array(cfg.batchSize * size);
      const picksA: SamplePick[] = [];
      const picksB: SamplePick[] = [];
      for (let n = 0; n < cfg.batchSize; n++) {
        const idx = randomInt(rng, 0, pairs.length - 1);
        const { a, b } = pairs[idx];
        const start = drawStart(a.shape, cfg, fgs[idx], rng);
        const flip = drawFlip(cfg, rng);
        copyPatch(a.data, a.shape, start, cfg, flip, outA, n * size);
        copyPatch(b.data, b.shape, start, cfg, flip, outB, n * size);
        picksA.push({ volume: a.name, volumeIndex: idx, start, flip });
        picksB.push({ volume: b.name, volumeIndex: idx, start: [...start], flip });
      }
      return { a: outA, b: outB, shape: [...shape], picks: { a: picksA, b: picksB } };
    },
  };
}
