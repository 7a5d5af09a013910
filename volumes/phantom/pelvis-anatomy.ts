/**
 * Pelvis phantom anatomy: sampled parameters and a classifier over anatomical points (LPS mm,
 * origin at the reference pelvis centre). Body: superelliptic trunk with skin, subcutaneous fat
 * (thickness is the main variable, like BMI) and muscle with fatty septa. Bones (cortical shell +
 * trabecular core): femoral heads, necks, trochanters and shafts (fatty medullary cavity),
 * acetabula, iliac wings, ischia, pubic rami and sacrum. Viscera: urine-filled bladder with a wall,
 * rectum with faeces and gas pockets, small-bowel loops with gas and mesenteric fat above the
 * bladder, fat in the pelvic cavity.
 */
import type { Rng } from '../random.ts';
import { clippedNormal, streamRng } from './seeds.ts';
import { SmoothNoise } from './smooth-noise.ts';
import { inEllipsoid as inEllipsoidImport, round3, segmentDistance as segmentDistanceImport } from './shapes.ts';
import { TISSUE } from './tissues.ts';

// Hot-loop helpers bound once: transpilers turn imported bindings into property reads on every call.
const inEllipsoid = inEllipsoidImport;
const segmentDistance = segmentDistanceImport;
const T = { ...TISSUE };


export interface PelvisAnatomy {
  center: [number, number, number];
  /** Trunk semi-axes (left-right, antero-posterior) and squareness k of its squircle r² = u² + v² − k·u²v². */
  body: [number, number];
  bodySquareness: number;
  surfaceWobble: number;
  skin: number;
  fat: number;
  abdominalWall: number;
  /** Overall bone scale and the femoral head radius (mm). */
  boneScale: number;
  femoralHead: number;
  cortex: number;
  /** Bladder fill (relative volume, 1 = moderately full). */
  bladderFill: number;
  rectumRadius: number;
  bowelGas: number;
}

function vary(rng: Rng, ref: number, relSd: number, variation: number): number {
  return round3(ref * (1 + variation * relSd * clippedNormal(rng)));
}

export function samplePelvisAnatomy(seed: number, variation: number): PelvisAnatomy {
  const rng = streamRng(seed, 'pelvis', 'anatomy');
  const v = variation;
  const fat = round3(22 * Math.exp(v * 0.45 * clippedNormal(rng)));
  return {
    center: [round3(v * 3 * clippedNormal(rng)), round3(v * 3 * clippedNormal(rng)), round3(v * 4 * clippedNormal(rng))],
    body: [vary(rng, 160, 0.07, v), vary(rng, 112, 0.08, v)],
    bodySquareness: round3(Math.min(0.8, Math.max(0.1, 0.45 + v * 0.1 * clippedNormal(rng)))),
    surfaceWobble: round3(0.01 + 0.025 * v * rng()),
    skin: vary(rng, 2, 0.15, v),
    fat,
    abdominalWall: vary(rng, 11, 0.2, v),
    boneScale: vary(rng, 1, 0.05, v),
    femoralHead: vary(rng, 24, 0.06, v),
    cortex: vary(rng, 1.8, 0.15, v),
    bladderFill: round3(Math.max(0.3, 0.85 + v * 0.3 * clippedNormal(rng))),
    rectumRadius: vary(rng, 15, 0.15, v),
    bowelGas: round3(Math.max(0.35, Math.min(0.7, 0.5 - v * 0.06 * clippedNormal(rng)))),
  };
}

const NOISE_BOX = 220;

/** Label of a bone primitive at distance `d` from its axis/centre with radius `r` and cortex `c`. */
function bone(d: number, r: number, c: number): number {
  return d > r - c ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
}

/** The pelvis classifier; the coarse noise fields (≥ 40 mm) are evaluated once per `voxel`. */
export function pelvisClassifier(a: PelvisAnatomy, seed: number): (x: number, y: number, z: number, voxel: number) => number {
  const [cx, cy, cz] = a.center;
  const lo = [cx - NOISE_BOX, cy - NOISE_BOX, cz - NOISE_BOX] as const;
  const hi = [cx + NOISE_BOX, cy + NOISE_BOX, cz + NOISE_BOX] as const;
  const field = (key: string, cell: number): SmoothNoise => new SmoothNoise(streamRng(seed, 'pelvis', key), lo, hi, cell);
  const shapeN = field('shape', 60);
  const fatN = field('fat', 40);
  const septaN = field('septa', 18);
  const gasN = field('gas', 9);
  const bowelN = field('bowel', 14);
  const vfatN = field('visceral-fat', 12);
  const [bA, bB] = a.body;
  const sq = a.bodySquareness;
  const s = a.boneScale;
  const rf = a.femoralHead;
  const c = a.cortex;
  // Landmarks (one side, x > 0; the other side mirrors).
  const fx = 88 * s;
  const fy = -8 * s;
  const fz = -30 * s;
  const tx = fx + 35 * s;
  const ty = fy + 8 * s;
  const tz = fz - 30 * s;
  const bf = Math.cbrt(a.bladderFill);
  const bladderZ = fz + 8 + 14 * (a.bladderFill - 1);
  const bladderY = -32 * s;
  const rr = a.rectumRadius;
  // Iliac wing frame: u runs from the sacro-iliac joint to the anterior superior iliac spine.
  const ux = 0.62;
  const uy = -0.785;

  const outR = (1 + a.surfaceWobble) * 1.02;
  let cacheVoxel = -1;
  let have = 0;
  let cShape = 0;
  let cFat = 0;

  return (x, y, z, voxel) => {
    const dx = x - cx;
    const dy = y - cy;
    const dz = z - cz;
    const X = Math.abs(dx);
    const ady = Math.abs(dy);
    const u2 = (X / bA) ** 2;
    const v2 = (ady / bB) ** 2;
    const r0 = Math.sqrt(u2 + v2 - sq * u2 * v2);
    if (r0 > outR) return T.AIR;
    if (voxel !== cacheVoxel) {
      cacheVoxel = voxel;
      have = 0;
    }
    if (!(have & 1)) {
      cShape = shapeN.sample(x, y, z);
      have |= 1;
    }
    const rb = r0 / (1 + a.surfaceWobble * cShape);
    const rho = Math.sqrt(X * X + dy * dy);
    const e = rb > 1e-9 ? -rho * (1 - 1 / rb) : bB;
    if (e < 0) return T.AIR;
    if (e < a.skin) return T.SOFT_TISSUE;
    // Subcutaneous fat: thicker posteriorly and laterally (buttocks, flanks).
    if (!(have & 2)) {
      cFat = fatN.sample(x, y, z);
      have |= 2;
    }
    const fatEnd = a.skin + a.fat * (1 + 0.35 * cFat) * (dy > 0 ? 1 + 0.4 * (dy / bB) : 1 - 0.2 * (-dy / bB));
    if (e < fatEnd) return T.FAT;

    // Bones.
    if (X < fx + 70 && dz < 110 * s) {
      const dh = Math.sqrt((X - fx) ** 2 + (dy - fy) ** 2 + (dz - fz) ** 2);
      if (Math.abs(X - fx - 10 * s) < 65 * s && dz < fz + 45 * s) {
        if (dh < rf) return bone(dh, rf, c);
        // Acetabulum: a cup over the femoral head's medial and superior side, after a cartilage gap.
        if (dh < rf + 10 && dh > rf + 2.5 && (fx - X) + (dz - fz) > -0.3 * dh) {
          const t = dh - rf - 2.5;
          return t < c || t > 7.5 - c ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
        }
        if (dh < rf + 2.5) return T.SOFT_TISSUE;
        const neck = segmentDistance(X, dy, dz, fx, fy, fz, tx, ty, tz);
        if (neck < 14 * s) return bone(neck, 14 * s, c + 0.5);
        const troch = Math.sqrt((X - tx - 6 * s) ** 2 + (dy - ty - 4) ** 2 + (dz - tz - 6) ** 2);
        if (troch < 15 * s) return bone(troch, 15 * s, c);
        const shaft = segmentDistance(X, dy, dz, tx, ty, tz, tx - 6 * s, ty + 6, tz - 250);
        if (shaft < 13 * s) {
          if (dz > tz - 25) return bone(shaft, 13 * s, c + 1);
          return shaft > 13 * s - 5 ? T.CORTICAL_BONE : shaft < 7 * s ? T.FAT : T.TRABECULAR_BONE;
        }
      }
      // Ilium: body from the acetabulum up to a curved wing.
      if (dz > fz && X > 25 * s) {
        const ib = segmentDistance(X, dy, dz, fx - 8 * s, fy + 8 * s, fz + 16 * s, 72 * s, 22 * s, fz + 55 * s);
        if (ib < 13 * s) return bone(ib, 13 * s, c);
        const wx = X - 78 * s;
        const wy = dy - 8 * s;
        const wu = wx * ux + wy * uy;
        const wn = wx * -uy + wy * ux - 0.006 * wu * wu;
        const wz = dz - (fz + 68 * s);
        const wing = Math.sqrt((wu / (64 * s)) ** 2 + (wz / (46 * s)) ** 2);
        if (wing < 1) {
          const half = 6.5 * s * (1 - 0.5 * wing * wing);
          const an = Math.abs(wn);
          if (an < half) return an > half - c ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
        }
      }
      // Ischium and pubic rami.
      if (dz < fz + 15 * s && dz > fz - 75 * s) {
        const ischium = segmentDistance(X, dy, dz, fx - 18 * s, fy + 20 * s, fz - 12 * s, 52 * s, 28 * s, fz - 58 * s);
        if (ischium < 11 * s) return bone(ischium, 11 * s, c);
        const supRamus = segmentDistance(X, dy, dz, fx - 14 * s, fy - 14 * s, fz - 4 * s, 7 * s, -64 * s, fz - 24 * s);
        if (supRamus < 9 * s) return bone(supRamus, 9 * s, c);
        const infRamus = segmentDistance(X, dy, dz, 7 * s, -60 * s, fz - 36 * s, 52 * s, 28 * s, fz - 58 * s);
        if (infRamus < 7 * s) return bone(infRamus, 7 * s, c);
      }
      // Sacrum and coccyx, midline, tilted back towards the bottom.
      if (X < 50 * s && dy > 20 * s) {
        const sz = dz - (fz + 62 * s);
        const sy = dy - (70 * s - 0.32 * sz);
        const sacral = Math.sqrt((dx / (46 * s * (1 - Math.max(0, -sz) / 160))) ** 2 + (sy / (17 * s)) ** 2 + (sz / (62 * s)) ** 2);
        if (sacral < 1) return (1 - sacral) * 17 * s < c + 0.4 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
      }
    }

    // Viscera.
    const ddz = dz - bladderZ;
    if (inEllipsoid(dx, dy - bladderY, ddz, 40 * bf + 3, 30 * bf + 3, 32 * bf + 3)) {
      return inEllipsoid(dx, dy - bladderY, ddz, 40 * bf, 30 * bf, 32 * bf) ? T.FLUID : T.SOFT_TISSUE;
    }
    const rcy = 40 * s - 0.2 * (dz - fz);
    const rd = Math.sqrt(dx * dx + (dy - rcy) ** 2);
    if (dz < fz + 45 && rd < rr) {
      if (rd > rr - 3) return T.SOFT_TISSUE;
      return gasN.sample(x, y, z) > 0.25 ? T.AIR_CAVITY : T.SOFT_TISSUE;
    }
    if (e < fatEnd + a.abdominalWall && dy < 0) return T.SOFT_TISSUE;
    // Small-bowel loops above the bladder, anterior to the spine.
    if (dz > bladderZ + 32 * bf + 8 && dy < 25 && X < bA - 40 && e > fatEnd + a.abdominalWall) {
      const b = bowelN.sample(x, y, z);
      if (b > a.bowelGas) return T.AIR_CAVITY;
      if (Math.abs(b) < 0.06) return T.FAT;
      return T.SOFT_TISSUE;
    }
    // Fat in the pelvic cavity around the bladder and rectum.
    if (inEllipsoid(dx, dy - 5, dz - (fz + 10), 55 * s, 62 * s, 55) && vfatN.sample(x, y, z) > -0.15) return T.FAT;
    // Muscle with thin fatty septa.
    if (Math.abs(septaN.sample(x, y, z)) < 0.035) return T.FAT;
    return T.SOFT_TISSUE;
  };
}
