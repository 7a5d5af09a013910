/**
 * Label-map clean-up helpers: relabelling voxels marked UNSET from their neighbours, and removing
 * the small connected pieces (specks) of every class.
 */
import type { Shape3 } from '../../volumes/volume.ts';

/** Marks a voxel whose label is to be decided by refillLabels. */
export const UNSET = 255;

/**
 * Gives every UNSET voxel of `work`, wave by wave from the set voxels, the most frequent label among
 * its already-set 6-neighbours (ties: the smallest label; labels in `keep` count only when nothing
 * else touches the voxel). Voxels no wave reaches get `fallback[p]`. In place.
 */
export function refillLabels(work: Uint8Array, shape: Shape3, fallback: Uint8Array, keep: readonly number[] = [0]): void {
  const [nx, ny, nz] = shape;
  const sxy = nx * ny;
  const votes = new Float64Array(256);
  const keepSet = new Uint8Array(256);
  for (const l of keep) keepSet[l] = 1;
  let pending: number[] = [];
  for (let p = 0; p < work.length; p++) if (work[p] === UNSET) pending.push(p);
  const seen: number[] = [];
  while (pending.length > 0) {
    const decided: number[] = [];
    const rest: number[] = [];
    for (const p of pending) {
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / sxy);
      seen.length = 0;
      const vote = (q: number): void => {
        const l = work[q];
        if (l === UNSET) return;
        if (votes[l] === 0) seen.push(l);
        votes[l] += keepSet[l] ? 1e-3 : 1;
      };
      if (i > 0) vote(p - 1);
      if (i < nx - 1) vote(p + 1);
      if (j > 0) vote(p - nx);
      if (j < ny - 1) vote(p + nx);
      if (k > 0) vote(p - sxy);
      if (k < nz - 1) vote(p + sxy);
      if (seen.length === 0) {
        rest.push(p);
        continue;
      }
      let best = -1;
      let bestVotes = 0;
      for (const l of seen) {
        if (votes[l] > bestVotes || (votes[l] === bestVotes && l < best)) {
          best = l;
          bestVotes = votes[l];
        }
        votes[l] = 0;
      }
      decided.push(p, best);
    }
    for (let d = 0; d < decided.length; d += 2) work[decided[d]] = decided[d + 1];
    if (decided.length === 0) {
      for (const p of rest) work[p] = fallback[p];
      break;
    }
    pending = rest;
  }
}

/**
 * Relabels (refillLabels) every 6-connected piece of one class smaller than `minVoxels`; classes in
 * `keep` (default [0], outside) are left alone. In place; returns the number of voxels relabelled.
 */
export function removeSmallPieces(labels: Uint8Array, shape: Shape3, minVoxels: number, keep: readonly number[] = [0]): number {
  const [nx, ny, nz] = shape;
  const sxy = nx * ny;
  const n = labels.length;
  const visited = new Uint8Array(n);
  const queue = new Int32Array(n);
  const work = Uint8Array.from(labels);
  let marked = 0;
  for (let s = 0; s < n; s++) {
    if (visited[s] !== 0) continue;
    const c = labels[s];
    if (keep.includes(c)) continue;
    // visited: 1 = in the current flood, 2 = part of a piece known to be big, 3 = a small piece
    let head = 0;
    let tail = 0;
    let big = false;
    queue[tail++] = s;
    visited[s] = 1;
    // the flood stops as soon as the piece is known to be big (enough voxels, or it touches a voxel
    // of a big piece); its unexpanded voxels later seed floods that meet the big piece at once
    while (head < tail && !big) {
      const p = queue[head++];
      const i = p % nx;
      const j = Math.floor(p / nx) % ny;
      const k = Math.floor(p / sxy);
      const visit = (q: number): void => {
        if (labels[q] !== c) return;
        const v = visited[q];
        if (v === 2) big = true;
        else if (v === 0) {
          visited[q] = 1;
          queue[tail++] = q;
        }
      };
      if (i > 0) visit(p - 1);
      if (i < nx - 1) visit(p + 1);
      if (j > 0) visit(p - nx);
      if (j < ny - 1) visit(p + nx);
      if (k > 0) visit(p - sxy);
      if (k < nz - 1) visit(p + sxy);
      if (tail >= minVoxels) big = true;
    }
    if (big) {
      for (let q = 0; q < tail; q++) visited[queue[q]] = 2;
    } else {
      for (let q = 0; q < tail; q++) {
        visited[queue[q]] = 3;
        work[queue[q]] = UNSET;
      }
      marked += tail;
    }
  }
  if (marked === 0) return 0;
  refillLabels(work, shape, labels, keep);
  let changed = 0;
  for (let p = 0; p < n; p++) {
    if (work[p] !== labels[p]) changed++;
    labels[p] = work[p];
  }
  return changed;
}
