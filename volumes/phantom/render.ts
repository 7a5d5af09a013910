/**
 * Turns a rasterised label map into CT (HU) and clean MR signals: per voxel, the mean over its
 * tissue mixture of (tissue mean + tissue texture amplitude × smooth texture field), then Gaussian
 * CT noise. MR texture is multiplicative; trabecular bone's fine MR texture is anti-correlated with
 * its HU texture (denser bone, less marrow fat, less signal).
 */
import type { GridMap, Rasterized } from './rasterize.ts';
import { SUBSAMPLES } from './rasterize.ts';
import { NormalStream } from './seeds.ts';
import type { SmoothNoise } from './smooth-noise.ts';

/** Per-tissue values indexed by label id. */
export interface TissueTables {
  hu: Float64Array;
  huTexCoarse: Float64Array;
  huTexFine: Float64Array;
  t1: Float64Array;
  t2: Float64Array;
  mrTexCoarse: Float64Array;
  mrTexFine: Float64Array;
}

export interface Rendered {
  ct: Float32Array;
  t1: Float32Array;
  t2: Float32Array;
}

export function render(
  r: Rasterized,
  grid: GridMap,
  tables: TissueTables,
  texCoarse: SmoothNoise,
  texFine: SmoothNoise,
  ctNoiseHu: number,
  ctNoiseSeed: number,
): Rendered {
  const [nx, ny, nz] = grid.shape;
  const n = nx * ny * nz;
  const m = grid.m;
  const [q0x, q0y, q0z] = grid.q0;
  const ct = new Float32Array(n);
  const t1 = new Float32Array(n);
  const t2 = new Float32Array(n);
  const { hu, huTexCoarse, huTexFine, mrTexCoarse, mrTexFine } = tables;
  const s1 = tables.t1;
  const s2 = tables.t2;
  const { labels, boundary, sub } = r;
  const inv = 1 / SUBSAMPLES;
  let b = 0;
  let idx = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const bx = q0x + m[1] * j + m[2] * k;
      const by = q0y + m[4] * j + m[5] * k;
      const bz = q0z + m[7] * j + m[8] * k;
      for (let i = 0; i < nx; i++, idx++) {
        const l = labels[idx];
        const mixed = b < boundary.length && boundary[b] === idx;
        if (!mixed && l === 0) {
          ct[idx] = hu[0];
          continue;
        }
        const x = bx + m[0] * i;
        const y = by + m[3] * i;
        const z = bz + m[6] * i;
        const tc = texCoarse.sample(x, y, z);
        const tf = texFine.sample(x, y, z);
        if (!mixed) {
          ct[idx] = hu[l] + huTexCoarse[l] * tc + huTexFine[l] * tf;
          const g = 1 + mrTexCoarse[l] * tc + mrTexFine[l] * tf;
          t1[idx] = s1[l] * g;
          t2[idx] = s2[l] * g;
          continue;
        }
        let c = 0;
        let a1 = 0;
        let a2 = 0;
        const base = b * SUBSAMPLES;
        for (let s = 0; s < SUBSAMPLES; s++) {
          const ls = sub[base + s];
          c += hu[ls] + huTexCoarse[ls] * tc + huTexFine[ls] * tf;
          const g = 1 + mrTexCoarse[ls] * tc + mrTexFine[ls] * tf;
          a1 += s1[ls] * g;
          a2 += s2[ls] * g;
        }
        ct[idx] = c * inv;
        t1[idx] = a1 * inv;
        t2[idx] = a2 * inv;
        b++;
      }
    }
  }
  if (ctNoiseHu > 0) {
    const noise = new NormalStream(ctNoiseSeed);
    for (let v = 0; v < n; v++) ct[v] += ctNoiseHu * noise.next();
  }
  return { ct, t1, t2 };
}
