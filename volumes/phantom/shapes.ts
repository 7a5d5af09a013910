/**
 * Small helpers for implicit shapes. "Depth" is a signed distance proxy in mm: negative inside,
 * measured along the ray from the shape's centre (exact for spheres, close for mildly eccentric
 * ellipsoids), which is what layered tissues (skin → fat → bone ...) need.
 */

/** Polynomial smooth minimum (k in mm): blends two depths so unions have no crease. */
export function smoothMin(a: number, b: number, k: number): number {
  const h = Math.max(k - Math.abs(a - b), 0) / k;
  return Math.min(a, b) - (h * h * k) / 4;
}

/** Radial depth of (dx, dy, dz) relative to an ellipsoid with semi-axes (a, b, c) scaled by `grow`. */
export function ellipsoidDepth(dx: number, dy: number, dz: number, a: number, b: number, c: number, grow = 1): number {
  const len = Math.sqrt(dx * dx + dy * dy + dz * dz);
  const r = Math.sqrt((dx / a) ** 2 + (dy / b) ** 2 + (dz / c) ** 2) / grow;
  if (r < 1e-9) return -Math.min(a, b, c) * grow;
  return len * (1 - 1 / r);
}

/** Whether (dx, dy, dz) is inside the ellipsoid with semi-axes (a, b, c). */
export function inEllipsoid(dx: number, dy: number, dz: number, a: number, b: number, c: number): boolean {
  const u = dx / a;
  const v = dy / b;
  const w = dz / c;
  return u * u + v * v + w * w < 1;
}

/** Distance from a point to the segment p0→p1 (mm). */
export function segmentDistance(
  x: number, y: number, z: number,
  x0: number, y0: number, z0: number,
  x1: number, y1: number, z1: number,
): number {
  const ux = x1 - x0;
  const uy = y1 - y0;
  const uz = z1 - z0;
  const wx = x - x0;
  const wy = y - y0;
  const wz = z - z0;
  const len2 = ux * ux + uy * uy + uz * uz;
  let t = len2 > 0 ? (wx * ux + wy * uy + wz * uz) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const dx = wx - t * ux;
  const dy = wy - t * uy;
  const dz = wz - t * uz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** Rounded, so sampled parameters print and serialise compactly (and identically); never −0. */
export function round3(v: number): number {
  return Math.round(v * 1000) / 1000 + 0;
}
