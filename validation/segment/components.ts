/**
 * 3-D connected components of a mask (6-, 18- or 26-connectivity) with, per component, its voxel
 * count, volume in mm³, centroid (voxel and world LPS mm, through the volume's affine), bounding box
 * in voxels and the slice to look at: along the voxel axis closest to the world's superior–inferior
 * axis (the "axial" axis of the grid, whatever the direction matrix), the slice where the component's
 * area is largest (ties: the one nearest the centroid), plus the slice through the centroid.
 *
 * Components are numbered 1..n by decreasing size (ties: first voxel in x-fastest order); those
 * under `minVoxels` / `minVolumeMm3` are dropped from the list and from the label volume.
 */
import { voxelToWorld } from '../../volumes/affine.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { createVolume } from '../../volumes/volume.ts';
import type { Mat3, Shape3, Vec3, Volume, VoxelArray } from '../../volumes/volume.ts';

export type Connectivity = 6 | 18 | 26;

export interface ComponentOptions {
  /** Default 26. */
  connectivity?: Connectivity;
  /** Foreground = voxels equal to this label; default every non-zero voxel. */
  label?: number;
  minVoxels?: number;
  minVolumeMm3?: number;
}

export interface ComponentSlice {
  /** The voxel axis nearest the world S–I axis. */
  axis: 0 | 1 | 2;
  /** Slice index along `axis` with the largest area of the component. */
  index: number;
  areaVoxels: number;
  /** Slice index through the centroid (rounded). */
  centroidIndex: number;
}

export interface Component {
  id: number;
  voxels: number;
  volumeMm3: number;
  centroidVoxel: [number, number, number];
  /** LPS mm. */
  centroidWorld: [number, number, number];
  bbox: { min: [number, number, number]; max: [number, number, number] };
  slice: ComponentSlice;
}

export interface ComponentsResult {
  /** Component ids (0 = background or dropped) on the mask's grid. */
  labels: Volume<Int32Array>;
  components: Component[];
}

export type MaskLike = Pick<Volume, 'data' | 'shape' | 'spacing' | 'origin' | 'direction'>;

/** The voxel axis whose direction column has the largest world-z (S–I) component. */
export function axialAxis(direction: Mat3 | readonly number[]): 0 | 1 | 2 {
  let best: 0 | 1 | 2 = 2;
  let bestAbs = -1;
  for (const a of [2, 0, 1] as const) {
    const z = Math.abs(direction[6 + a]);
    if (z > bestAbs + 1e-9) {
      best = a;
      bestAbs = z;
    }
  }
  return best;
}

function offsets(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dk = -1; dk <= 1; dk++) {
    for (let dj = -1; dj <= 1; dj++) {
      for (let di = -1; di <= 1; di++) {
        const n = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (n === 0) continue;
        if (connectivity === 6 && n > 1) continue;
        if (connectivity === 18 && n > 2) continue;
        out.push([di, dj, dk]);
      }
    }
  }
  return out;
}

export function connectedComponents(mask: MaskLike, options: ComponentOptions = {}): ComponentsResult {
  const connectivity = options.connectivity ?? 26;
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26) {
    throw new VoxshiftError('INVALID_ARGUMENT', `connectivity must be 6, 18 or 26, got ${String(connectivity)}`, { param: 'connectivity' });
  }
  const shape: Shape3 = mask.shape;
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const data: VoxelArray = mask.data;
  if (data.length < n) {
    throw new VoxshiftError('INVALID_ARGUMENT', `mask has ${data.length} voxels, expected ${n} for shape ${shape.join('×')}`, { param: 'mask' });
  }
  const label = options.label;
  const isIn = label === undefined ? (p: number) => data[p] !== 0 : (p: number) => data[p] === label;
  const voxelMm3 = mask.spacing[0] * mask.spacing[1] * mask.spacing[2];
  const minVoxels = Math.max(options.minVoxels ?? 1, Math.ceil((options.minVolumeMm3 ?? 0) / voxelMm3 - 1e-9));

  const ids = new Int32Array(n);
  const queue = new Int32Array(n);
  const nb = offsets(connectivity);
  const sxy = nx * ny;
  const ndi = Int32Array.from(nb, (o) => o[0]);
  const ndj = Int32Array.from(nb, (o) => o[1]);
  const ndk = Int32Array.from(nb, (o) => o[2]);
  const ndq = Int32Array.from(nb, (o) => o[0] + nx * o[1] + sxy * o[2]);
  interface Acc { first: number; count: number; si: number; sj: number; sk: number; min: number[]; max: number[] }
  const accs: Acc[] = [];
  for (let s = 0; s < n; s++) {
    if (ids[s] !== 0 || !isIn(s)) continue;
    const id = accs.length + 1;
    const acc: Acc = { first: s, count: 0, si: 0, sj: 0, sk: 0, min: [nx, ny, nz], max: [-1, -1, -1] };
    accs.push(acc);
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    ids[s] = id;
    while (head < tail) {
      const p = queue[head++];
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / sxy);
      acc.count++;
      acc.si += i;
      acc.sj += j;
      acc.sk += k;
      if (i < acc.min[0]) acc.min[0] = i;
      if (i > acc.max[0]) acc.max[0] = i;
      if (j < acc.min[1]) acc.min[1] = j;
      if (j > acc.max[1]) acc.max[1] = j;
      if (k < acc.min[2]) acc.min[2] = k;
      if (k > acc.max[2]) acc.max[2] = k;
      const interior = i > 0 && i < nx - 1 && j > 0 && j < ny - 1 && k > 0 && k < nz - 1;
      for (let e = 0; e < nb.length; e++) {
        if (!interior) {
          const a = i + ndi[e];
          const b = j + ndj[e];
          const c = k + ndk[e];
          if (a < 0 || a >= nx || b < 0 || b >= ny || c < 0 || c >= nz) continue;
        }
        const q = p + ndq[e];
        if (ids[q] === 0 && isIn(q)) {
          ids[q] = id;
          queue[tail++] = q;
        }
      }
    }
  }

  const kept = accs
    .map((acc, idx) => ({ acc, old: idx + 1 }))
    .filter(({ acc }) => acc.count >= minVoxels)
    .sort((x, y) => y.acc.count - x.acc.count || x.acc.first - y.acc.first);
  const remap = new Int32Array(accs.length + 1);
  kept.forEach(({ old }, idx) => (remap[old] = idx + 1));
  const axis = axialAxis(mask.direction);
  const stride = [1, nx, sxy][axis];
  const slices = shape[axis];
  const areas = kept.map(() => new Int32Array(slices));
  for (let p = 0; p < n; p++) {
    const id = ids[p];
    if (id === 0) continue;
    const to = remap[id];
    ids[p] = to;
    if (to !== 0) areas[to - 1][Math.floor(p / stride) % slices]++;
  }

  const components: Component[] = kept.map(({ acc }, idx) => {
    const centroidVoxel: [number, number, number] = [acc.si / acc.count, acc.sj / acc.count, acc.sk / acc.count];
    const w = voxelToWorld(mask, centroidVoxel);
    const area = areas[idx];
    const c = centroidVoxel[axis];
    let index = acc.min[axis];
    for (let s = acc.min[axis]; s <= acc.max[axis]; s++) {
      if (area[s] > area[index] || (area[s] === area[index] && Math.abs(s - c) < Math.abs(index - c))) index = s;
    }
    return {
      id: idx + 1,
      voxels: acc.count,
      volumeMm3: acc.count * voxelMm3,
      centroidVoxel,
      centroidWorld: [w[0], w[1], w[2]],
      bbox: { min: [acc.min[0], acc.min[1], acc.min[2]], max: [acc.max[0], acc.max[1], acc.max[2]] },
      slice: { axis, index, areaVoxels: area[index], centroidIndex: Math.min(slices - 1, Math.max(0, Math.round(c))) },
    };
  });

  const labels = createVolume<Int32Array>({
    data: ids,
    shape,
    spacing: mask.spacing as Vec3,
    origin: mask.origin as Vec3,
    direction: mask.direction as Mat3,
    kind: 'label',
    meta: { units: 'label' },
    history: [{ op: 'connectedComponents', params: { connectivity, label: label ?? null, minVoxels } }],
  });
  return { labels, components };
}
