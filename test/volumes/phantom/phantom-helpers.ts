/** Small statistics shared by the phantom tests. */
import type { Volume } from '../../../volumes/volume.ts';

/** Mean of `vol` over the voxels whose label is `id` (NaN when there are none). */
export function meanWhere(vol: Volume, labels: Volume<Uint8Array>, id: number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i] === id) {
      s += vol.data[i];
      n++;
    }
  }
  return n > 0 ? s / n : NaN;
}

export function labelCounts(labels: Volume<Uint8Array>): number[] {
  const c = new Array<number>(256).fill(0);
  for (const l of labels.data) c[l]++;
  return c;
}

/** Mean of `vol` over voxels of label `id` whose 6 neighbours all share it (free of partial volume). */
export function interiorMean(vol: Volume, labels: Volume<Uint8Array>, id: number): { mean: number; n: number } {
  const [nx, ny, nz] = labels.shape;
  const L = labels.data;
  const sz = nx * ny;
  let s = 0;
  let n = 0;
  for (let k = 1; k < nz - 1; k++) {
    for (let j = 1; j < ny - 1; j++) {
      for (let i = 1; i < nx - 1; i++) {
        const v = i + nx * (j + ny * k);
        if (L[v] !== id || L[v - 1] !== id || L[v + 1] !== id || L[v - nx] !== id || L[v + nx] !== id || L[v - sz] !== id || L[v + sz] !== id) continue;
        s += vol.data[v];
        n++;
      }
    }
  }
  return { mean: n > 0 ? s / n : NaN, n };
}

/** Mean absolute difference between neighbours along `axis`. */
export function meanAbsGradient(vol: Volume, axis: 0 | 1 | 2): number {
  const [nx, ny, nz] = vol.shape;
  const stride = [1, nx, nx * ny][axis];
  const lim = [nx, ny, nz];
  let s = 0;
  let n = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if ([i, j, k][axis] === lim[axis] - 1) continue;
        const v = i + nx * (j + ny * k);
        s += Math.abs(vol.data[v + stride] - vol.data[v]);
        n++;
      }
    }
  }
  return s / n;
}

export function bytesEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
