/**
 * Test pairs for validation reports: a small head phantom (T1w MR source, its CT as a perfect
 * "synthetic CT") and the same CT with a bone fragment painted into the brain, as
 * bench/hallucination.ts injects them (a sphere with partial volume from 4×4×4 sub-samples, well
 * inside brain tissue).
 */
import { voxelToWorld } from '../../../volumes/affine.ts';
import { generatePhantom } from '../../../volumes/phantom/index.ts';
import type { Phantom } from '../../../volumes/phantom/index.ts';
import { deriveVolume } from '../../../volumes/volume.ts';
import type { Volume } from '../../../volumes/volume.ts';

export const PAIR_SHAPE = [96, 96, 64] as const;
export const PAIR_SPACING = [2, 2, 2.5] as const;

export interface PhantomPair {
  phantom: Phantom;
  source: Volume;
  clean: Volume;
  injected: Volume<Float32Array>;
  /** The fragment: centre voxel (grid indices), world centre (mm), radius (mm), voxels ≥ half inside. */
  fragment: { voxel: [number, number, number]; world: [number, number, number]; radiusMm: number; mask: Uint8Array };
}

let cached: PhantomPair | null = null;

export function phantomPair(volumeMm3 = 2000, hu = 1200): PhantomPair {
  if (cached && volumeMm3 === 2000 && hu === 1200) return cached;
  const phantom = generatePhantom({ region: 'head', seed: 2, shape: [...PAIR_SHAPE], spacing: [...PAIR_SPACING] });
  const { labels, ct } = phantom;
  const [nx, ny, nz] = labels.shape;
  const r = Math.cbrt((3 * volumeMm3) / (4 * Math.PI));
  const reach = [0, 1, 2].map((a) => Math.ceil((r + 6) / labels.spacing[a]));
  let best: [number, number, number] | null = null;
  // the first voxel (from the centre outwards along k) whose r + 6 mm ball is all grey/white matter
  for (let dk = 0; dk < nz / 2 && !best; dk++) {
    for (const k of [Math.floor(nz / 2) + dk, Math.floor(nz / 2) - dk]) {
      for (let j = reach[1]; j < ny - reach[1] && !best; j++) {
        for (let i = reach[0]; i < nx - reach[0] && !best; i++) {
          let ok = true;
          for (let c = -reach[2]; c <= reach[2] && ok; c++) {
            for (let b = -reach[1]; b <= reach[1] && ok; b++) {
              for (let a = -reach[0]; a <= reach[0] && ok; a++) {
                if (Math.hypot(a * labels.spacing[0], b * labels.spacing[1], c * labels.spacing[2]) > r + 6) continue;
                const l = labels.data[i + a + nx * (j + b + ny * (k + c))];
                ok = l === 4 || l === 5;
              }
            }
          }
          if (ok) best = [i, j, k];
        }
      }
      if (best) break;
    }
  }
  if (!best) throw new Error('no place for the fragment in the phantom brain');
  const world = voxelToWorld(ct, best);
  const data = Float32Array.from(ct.data);
  const mask = new Uint8Array(data.length);
  const sub = [-0.375, -0.125, 0.125, 0.375];
  for (let k = best[2] - reach[2]; k <= best[2] + reach[2]; k++) {
    for (let j = best[1] - reach[1]; j <= best[1] + reach[1]; j++) {
      for (let i = best[0] - reach[0]; i <= best[0] + reach[0]; i++) {
        let inside = 0;
        for (const a of sub) {
          for (const b of sub) {
            for (const c of sub) {
              const d = [(i + a - best[0]) * ct.spacing[0], (j + b - best[1]) * ct.spacing[1], (k + c - best[2]) * ct.spacing[2]];
              if (Math.hypot(d[0], d[1], d[2]) <= r) inside++;
            }
          }
        }
        if (inside === 0) continue;
        const f = inside / 64;
        const p = i + nx * (j + ny * k);
        data[p] = (1 - f) * data[p] + f * hu;
        if (f >= 0.5) mask[p] = 1;
      }
    }
  }
  const pair: PhantomPair = {
    phantom,
    source: phantom.t1,
    clean: ct,
    injected: deriveVolume<Float32Array>(ct, { data }),
    fragment: { voxel: best, world: [world[0], world[1], world[2]], radiusMm: r, mask },
  };
  if (volumeMm3 === 2000 && hu === 1200) cached = pair;
  return pair;
}
