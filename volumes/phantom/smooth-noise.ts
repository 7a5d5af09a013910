/**
 * A smooth random field: random values on a coarse grid (one per `cellMm`), interpolated with
 * smoothstep-weighted trilinear interpolation. Cheap (8 lookups) and resolution independent: the
 * field lives in millimetres, so a phantom rendered on a finer grid has the same anatomy.
 * Values lie in [-1, 1]; outside the box the field is clamped to its border. With `channels` > 1,
 * several independent fields share one grid and one weight computation (`sampleInto`).
 */
import type { Rng } from '../random.ts';
import type { Vec3 } from '../volume.ts';

export class SmoothNoise {
  private readonly values: Float32Array;
  private readonly nx: number;
  private readonly ny: number;
  private readonly nz: number;
  private readonly x0: number;
  private readonly y0: number;
  private readonly z0: number;
  private readonly inv: number;
  readonly channels: number;

  constructor(rng: Rng, min: Vec3, max: Vec3, cellMm: number, channels = 1) {
    this.inv = 1 / cellMm;
    this.x0 = min[0];
    this.y0 = min[1];
    this.z0 = min[2];
    this.nx = Math.max(2, Math.ceil((max[0] - min[0]) / cellMm) + 2);
    this.ny = Math.max(2, Math.ceil((max[1] - min[1]) / cellMm) + 2);
    this.nz = Math.max(2, Math.ceil((max[2] - min[2]) / cellMm) + 2);
    this.channels = channels;
    this.values = new Float32Array(this.nx * this.ny * this.nz * channels);
    for (let i = 0; i < this.values.length; i++) this.values[i] = 2 * rng() - 1;
  }

  /** Channel 0 at (x, y, z). */
  sample(x: number, y: number, z: number): number {
    let fx = (x - this.x0) * this.inv;
    let fy = (y - this.y0) * this.inv;
    let fz = (z - this.z0) * this.inv;
    const mx = this.nx - 1.000001;
    const my = this.ny - 1.000001;
    const mz = this.nz - 1.000001;
    fx = fx < 0 ? 0 : fx > mx ? mx : fx;
    fy = fy < 0 ? 0 : fy > my ? my : fy;
    fz = fz < 0 ? 0 : fz > mz ? mz : fz;
    const i = fx | 0;
    const j = fy | 0;
    const k = fz | 0;
    let tx = fx - i;
    let ty = fy - j;
    let tz = fz - k;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    tz = tz * tz * (3 - 2 * tz);
    const v = this.values;
    const c = this.channels;
    const sx = c;
    const sy = this.nx * c;
    const sz = this.nx * this.ny * c;
    const b = i * sx + sy * j + sz * k;
    const c00 = v[b] + tx * (v[b + sx] - v[b]);
    const c10 = v[b + sy] + tx * (v[b + sy + sx] - v[b + sy]);
    const c01 = v[b + sz] + tx * (v[b + sz + sx] - v[b + sz]);
    const c11 = v[b + sz + sy] + tx * (v[b + sz + sy + sx] - v[b + sz + sy]);
    const c0 = c00 + ty * (c10 - c00);
    const c1 = c01 + ty * (c11 - c01);
    return c0 + tz * (c1 - c0);
  }

  /** All channels at (x, y, z), written to out[0 .. channels-1]. */
  sampleInto(x: number, y: number, z: number, out: Float64Array): void {
    let fx = (x - this.x0) * this.inv;
    let fy = (y - this.y0) * this.inv;
    let fz = (z - this.z0) * this.inv;
    const mx = this.nx - 1.000001;
    const my = this.ny - 1.000001;
    const mz = this.nz - 1.000001;
    fx = fx < 0 ? 0 : fx > mx ? mx : fx;
    fy = fy < 0 ? 0 : fy > my ? my : fy;
    fz = fz < 0 ? 0 : fz > mz ? mz : fz;
    const i = fx | 0;
    const j = fy | 0;
    const k = fz | 0;
    let tx = fx - i;
    let ty = fy - j;
    let tz = fz - k;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    tz = tz * tz * (3 - 2 * tz);
    const w000 = (1 - tx) * (1 - ty) * (1 - tz);
    const w100 = tx * (1 - ty) * (1 - tz);
    const w010 = (1 - tx) * ty * (1 - tz);
    const w110 = tx * ty * (1 - tz);
    const w001 = (1 - tx) * (1 - ty) * tz;
    const w101 = tx * (1 - ty) * tz;
    const w011 = (1 - tx) * ty * tz;
    const w111 = tx * ty * tz;
    const v = this.values;
    const c = this.channels;
    const sx = c;
    const sy = this.nx * c;
    const sz = this.nx * this.ny * c;
    const b = i * sx + sy * j + sz * k;
    for (let ch = 0; ch < c; ch++) {
      const o = b + ch;
      out[ch] =
        w000 * v[o] + w100 * v[o + sx] + w010 * v[o + sy] + w110 * v[o + sy + sx] +
        w001 * v[o + sz] + w101 * v[o + sz + sx] + w011 * v[o + sz + sy] + w111 * v[o + sz + sy + sx];
    }
  }
}
