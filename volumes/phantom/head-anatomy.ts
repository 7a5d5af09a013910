/**
 * Head phantom anatomy: sampled parameters (plain JSON numbers) and a classifier that maps an
 * anatomical point (LPS mm: +x left, +y posterior, +z superior, origin at the reference head centre)
 * to a tissue label.
 *
 * Cranium (above the skull base): skin → subcutaneous fat → galea/temporalis muscle → outer table
 * (cortical) → diploë (trabecular) → inner table (cortical) → subarachnoid CSF → folded grey-matter
 * cortex → white matter with lateral/third ventricles and deep grey nuclei; an interhemispheric
 * fissure above the corpus callosum. Below the skull base (face and neck): eyes in orbital fat,
 * nasal cavity, ethmoid/sphenoid/maxillary sinuses, naso- and oropharynx (air), hard palate,
 * mandible, cervical vertebrae with spinal canal and cord, muscle with fat patches.
 */
import type { Rng } from '../random.ts';
import { clippedNormal, streamRng } from './seeds.ts';
import { SmoothNoise } from './smooth-noise.ts';
import { ellipsoidDepth as ellipsoidDepthImport, inEllipsoid as inEllipsoidImport, round3, segmentDistance as segmentDistanceImport, smoothMin as smoothMinImport } from './shapes.ts';
import { TISSUE } from './tissues.ts';

// Hot-loop helpers bound once: transpilers turn imported bindings into property reads on every call.
const ellipsoidDepth = ellipsoidDepthImport;
const inEllipsoid = inEllipsoidImport;
const segmentDistance = segmentDistanceImport;
const smoothMin = smoothMinImport;
const T = { ...TISSUE };


export interface HeadAnatomy {
  /** Head ellipsoid centre and semi-axes (mm). */
  center: [number, number, number];
  axes: [number, number, number];
  /** Relative amplitude of the low-frequency deformation of the outer surface. */
  surfaceWobble: number;
  skin: number;
  fat: number;
  muscle: number;
  temporalis: number;
  outerTable: number;
  diploe: number;
  innerTable: number;
  /** Skull base height at the head centre (relative to centre z), its antero-posterior tilt, its thickness. */
  skullBaseZ: number;
  skullBaseTilt: number;
  skullBaseThickness: number;
  csf: number;
  gm: number;
  foldDepth: number;
  foldWidth: number;
  ventricleScale: number;
  eyeRadius: number;
  eyeSeparation: number;
  sinusScale: number;
  neckRadius: [number, number];
}

function vary(rng: Rng, ref: number, relSd: number, variation: number): number {
  return round3(ref * (1 + variation * relSd * clippedNormal(rng)));
}

export function sampleHeadAnatomy(seed: number, variation: number): HeadAnatomy {
  const rng = streamRng(seed, 'head', 'anatomy');
  const v = variation;
  const scale = 1 + v * 0.05 * clippedNormal(rng);
  const axes: [number, number, number] = [
    round3(72 * scale * (1 + v * 0.04 * clippedNormal(rng))),
    round3(92 * scale * (1 + v * 0.04 * clippedNormal(rng))),
    round3(82 * scale * (1 + v * 0.03 * clippedNormal(rng))),
  ];
  return {
    center: [round3(v * 2 * clippedNormal(rng)), round3(v * 3 * clippedNormal(rng)), round3(8 + v * 2 * clippedNormal(rng))],
    axes,
    surfaceWobble: round3(0.012 + 0.03 * v * rng()),
    skin: vary(rng, 1.8, 0.15, v),
    fat: vary(rng, 3.5, 0.35, v),
    muscle: vary(rng, 1.5, 0.2, v),
    temporalis: vary(rng, 9, 0.25, v),
    outerTable: vary(rng, 1.9, 0.15, v),
    diploe: vary(rng, 3.6, 0.3, v),
    innerTable: vary(rng, 1.6, 0.15, v),
    skullBaseZ: vary(rng, -34, 0.08, v),
    skullBaseTilt: vary(rng, 12, 0.2, v),
    skullBaseThickness: vary(rng, 6, 0.15, v),
    csf: vary(rng, 2.2, 0.35, v),
    gm: vary(rng, 2.8, 0.1, v),
    foldDepth: vary(rng, 10, 0.15, v),
    foldWidth: vary(rng, 0.13, 0.1, v),
    ventricleScale: vary(rng, 1.1, 0.25, v),
    eyeRadius: vary(rng, 11.5, 0.04, v),
    eyeSeparation: vary(rng, 31, 0.06, v),
    sinusScale: vary(rng, 1, 0.15, v),
    neckRadius: [vary(rng, 52, 0.08, v), vary(rng, 56, 0.08, v)],
  };
}

/** Half-size of the box (around the head centre) where the anatomy's noise fields are defined. */
const NOISE_BOX = 140;

/**
 * The head classifier. `voxel` identifies the voxel a point belongs to: the coarse noise fields
 * (scales ≥ 25 mm) are evaluated once per voxel and reused for its supersamples.
 */
export function headClassifier(a: HeadAnatomy, seed: number): (x: number, y: number, z: number, voxel: number) => number {
  const [cx, cy, cz] = a.center;
  const [ax, ay, az] = a.axes;
  const lo = [cx - NOISE_BOX, cy - NOISE_BOX, cz - NOISE_BOX] as const;
  const hi = [cx + NOISE_BOX, cy + NOISE_BOX, cz + NOISE_BOX] as const;
  const field = (key: string, cell: number, channels = 1): SmoothNoise =>
    new SmoothNoise(streamRng(seed, 'head', key), lo, hi, cell, channels);
  const shapeN = field('shape', 45);
  // Layer thickness modulations: fat, diploë, CSF (one grid, three channels).
  const layersN = field('layers', 28, 3);
  // Cortex: first folding octave and grey-matter thickness (two channels), second folding octave.
  const cortexN = field('cortex', 14, 2);
  const foldB = field('foldB', 8);
  const patchN = field('patch', 10);
  const cellN = field('ethmoid', 4);

  const vs = a.ventricleScale;
  const ss = a.sinusScale;
  const er = a.eyeRadius;
  const ex = a.eyeSeparation;
  const eyeY = cy - 0.67 * ay;
  const skullBase = (y: number): number => cz + a.skullBaseZ - (a.skullBaseTilt * (y - cy)) / ay;
  const eyeZ = skullBase(eyeY) - er - 1.5;
  const ccTop = cz + 22 + 8 * vs + 4;
  const ccHalf = 36;
  // Face ellipsoid (under the anterior head) and neck cylinder, blended into the head.
  const fcy = cy - 0.38 * ay;
  const fcz = cz - 0.76 * az;
  const fa = 0.8 * ax;
  const fb = 0.6 * ay;
  const fc = 0.67 * az;
  const neckY = cy + 10;
  const neckTop = cz - 0.35 * az;
  const [nrx, nry] = a.neckRadius;
  const vertY = cy + 14;
  const canalY = cy + 33;
  const spineTop = skullBase(vertY) - 16;
  const palateZ = cz - 0.82 * az;
  const mandY = cy - 0.33 * ay;
  const mandZ0 = cz - 1.12 * az;
  const mandZ1 = cz - 0.88 * az;

  // Bounds for early exits: beyond `outR` (in ellipsoid radius units) a point is surely air; deeper
  // than `deepE` under the surface and away from the skull base and midline it is surely below the cortex.
  const wob = 1 + a.surfaceWobble;
  const outHead = (wob * (1 + 6 / Math.min(ax, ay, az))) ** 2;
  const outFace = (wob * (1 + 6 / Math.min(fa, fb, fc))) ** 2;
  const outNeck = (wob * (1 + 6 / Math.min(nrx, nry))) ** 2;
  const layersMax = a.skin + 1.45 * a.fat + a.muscle + 1.2 * a.temporalis + a.outerTable + 1.45 * a.diploe + a.innerTable;
  const brainMax = 1.4 * a.csf + 1.2 * a.gm + a.foldDepth + 0.5;
  // Deep structures: ventricles, then deep grey nuclei, else white matter.
  const deep = (dx: number, dy: number, dz: number): number => {
    const ax1 = Math.abs(dx);
    if (inEllipsoid(ax1 - (2 + 6 * vs), dy + 2, dz - 22, 5 * vs, 27, 8 * vs)) return T.CSF;
    if (inEllipsoid(ax1 - 18, dy - 26, dz - 6, 4 * vs, 15, 10 * vs)) return T.CSF;
    if (inEllipsoid(dx, dy - 2, dz - 2, 1.6 * vs, 12, 9)) return T.CSF;
    if (inEllipsoid(ax1 - (8 + 6 * vs + 4), dy + 12, dz - 18, 5, 12, 8)) return T.GREY_MATTER;
    if (inEllipsoid(ax1 - 10, dy - 8, dz - 6, 8, 14, 8)) return T.GREY_MATTER;
    if (inEllipsoid(ax1 - 25, dy + 4, dz - 8, 6, 14, 9)) return T.GREY_MATTER;
    return T.WHITE_MATTER;
  };
  let cacheVoxel = -1;
  let have = 0;
  let cShape = 0;
  const layers = new Float64Array(3);
  const cortex = new Float64Array(2);

  return (x, y, z, voxel) => {
    const dx = x - cx;
    const dy = y - cy;
    const dz = z - cz;
    if ((dx / ax) ** 2 + (dy / ay) ** 2 + (dz / az) ** 2 > outHead &&
      (dx / fa) ** 2 + ((y - fcy) / fb) ** 2 + ((z - fcz) / fc) ** 2 > outFace &&
      (z > neckTop + 30 || (dx / nrx) ** 2 + ((y - neckY) / nry) ** 2 > outNeck)) {
      return T.AIR;
    }
    if (voxel !== cacheVoxel) {
      cacheVoxel = voxel;
      have = 0;
    }
    if (!(have & 1)) {
      cShape = shapeN.sample(x, y, z);
      have |= 1;
    }
    const grow = 1 + a.surfaceWobble * cShape;
    let d = ellipsoidDepth(dx, dy, dz, ax, ay, az, grow);
    const df = ellipsoidDepth(dx, y - fcy, z - fcz, fa, fb, fc, grow);
    d = smoothMin(d, df, 12);
    if (z < neckTop + 30) {
      const rho = Math.sqrt(dx * dx + (y - neckY) ** 2);
      const rn = Math.sqrt((dx / nrx) ** 2 + ((y - neckY) / nry) ** 2) / grow;
      let dn = rn > 1e-9 ? rho * (1 - 1 / rn) : -nrx;
      dn = Math.max(dn, z - neckTop);
      d = smoothMin(d, dn, 15);
    }
    const e = -d;
    if (e < 0) return T.AIR;
    if (e < a.skin) return T.SOFT_TISSUE;
    const zb = skullBase(y);
    const underCallosum = z < ccTop && Math.abs(y - cy) < ccHalf;
    if (z > zb && e > layersMax + brainMax && z - zb - a.skullBaseThickness > brainMax && (underCallosum || Math.abs(dx) - 1.2 > brainMax)) {
      return deep(dx, dy, dz);
    }
    if (!(have & 2)) {
      layersN.sampleInto(x, y, z, layers);
      have |= 2;
    }
    const fatEnd = a.skin + a.fat * (1 + 0.45 * layers[0]);
    if (e < fatEnd) return T.FAT;
    if (z > zb) {
      // Cranium.
      const lat = Math.abs(dx) / ax;
      const temporal = lat > 0.55 && z < zb + 70 ? (a.temporalis * (lat - 0.55)) / 0.45 * (1 - (z - zb) / 70) : 0;
      const e1 = fatEnd + a.muscle + temporal;
      if (e1 > e) return T.SOFT_TISSUE;
      const e2 = e1 + a.outerTable;
      if (e < e2) return T.CORTICAL_BONE;
      const e3 = e2 + a.diploe * (1 + 0.45 * layers[1]) * (1 - 0.45 * lat * lat);
      if (e < e3) return T.TRABECULAR_BONE;
      const e4 = e3 + a.innerTable;
      if (e < e4) return T.CORTICAL_BONE;
      const above = z - zb;
      if (above < a.skullBaseThickness) {
        return above < 1.5 || above > a.skullBaseThickness - 1.5 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
      }
      const c = a.csf * (1 + 0.4 * layers[2]);
      let bd = Math.min(e - e4, above - a.skullBaseThickness);
      // Interhemispheric fissure: a 2.4 mm CSF sheet lined by cortex (above the corpus callosum).
      if (!underCallosum) bd = Math.min(bd, Math.abs(dx) - 1.2 + c);
      if (bd < c) return T.CSF;
      if (bd < c + 1.2 * a.gm + a.foldDepth) {
        cortexN.sampleInto(x, y, z, cortex);
        const gmEnd = c + a.gm * (1 + 0.2 * cortex[1]);
        const f = cortex[0] + 0.5 * foldB.sample(x, y, z);
        const t = Math.max(0, 1 - Math.abs(f) / a.foldWidth);
        if (bd < c + a.foldDepth * t * t) return T.CSF;
        if (bd < gmEnd + 0.9 * a.foldDepth * t) return T.GREY_MATTER;
      }
      return deep(dx, dy, dz);
    }
    // Face and neck below the skull base.
    const ax1 = Math.abs(dx);
    const ed = Math.sqrt((ax1 - ex) ** 2 + (y - eyeY) ** 2 + (z - eyeZ) ** 2);
    if (ed < er && e > a.skin + 1) return T.FLUID;
    if (ed < er + 6) return T.FAT;
    // Ethmoid cells between the orbits (air with bony septa).
    if (inEllipsoid(dx, y - (eyeY + 4), z - (eyeZ + 2), 9 * ss, 16 * ss, 10 * ss)) {
      return cellN.sample(x, y, z) > -0.25 ? T.AIR_CAVITY : T.CORTICAL_BONE;
    }
    // Sphenoid body with its sinus.
    const sphY = cy - 18;
    const sphZ = skullBase(sphY) - 10;
    if (inEllipsoid(dx, y - sphY, z - sphZ, 11 * ss, 10 * ss, 8 * ss)) return T.AIR_CAVITY;
    if (inEllipsoid(dx, y - sphY, z - sphZ, 13 * ss, 12 * ss, 10 * ss)) return T.CORTICAL_BONE;
    if (inEllipsoid(dx, y - sphY, z - sphZ, 18, 17, 13)) return T.TRABECULAR_BONE;
    // Nasal cavity (with septum), nasopharynx, oropharynx.
    const nasZ = cz - 0.62 * az;
    if (inEllipsoid(dx, y - (cy - 0.66 * ay), z - nasZ, 10 * ss, 22, 15)) return ax1 < 1 ? T.SOFT_TISSUE : T.AIR_CAVITY;
    if (inEllipsoid(dx, y - (cy - 0.3 * ay), z - (nasZ - 4), 11, 22, 8)) return T.AIR_CAVITY;
    if (z < nasZ && inEllipsoid(dx, y - (cy - 12), 0, 11, 7, 1)) return T.AIR_CAVITY;
    // Maxillary sinuses with thin walls.
    const mY = cy - 0.56 * ay;
    const mZ = cz - 0.66 * az;
    if (inEllipsoid(ax1 - 28 * ss, y - mY, z - mZ, 13 * ss, 16 * ss, 14 * ss)) return T.AIR_CAVITY;
    if (inEllipsoid(ax1 - 28 * ss, y - mY, z - mZ, 13 * ss + 1.6, 16 * ss + 1.6, 14 * ss + 1.6)) return T.CORTICAL_BONE;
    // Hard palate.
    if (ax1 < 27 && y < cy - 0.2 * ay && Math.abs(z - palateZ) < 3.2 && e > 6) {
      return Math.abs(z - palateZ) > 1.7 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
    }
    // Mandible: a U-shaped band in the axial plane, plus the two rami.
    if (z > mandZ0 && z < mandZ1 && y < mandY + 25) {
      const rx = ax1 / (0.6 * ax);
      const ry = (y - mandY - 25) / (0.55 * ay);
      const rr = Math.sqrt(rx * rx + ry * ry);
      const band = Math.abs(rr - 1) * 0.55 * ay;
      if (band < 5) return band > 3.2 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
    }
    const ramus = segmentDistance(ax1, y, z, 0.6 * ax, mandY + 25, mandZ1 - 8, 0.62 * ax, mandY + 32, cz - 0.5 * az);
    if (ramus < 5) return ramus > 3.2 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
    // Cervical spine: vertebral bodies and discs, canal with CSF and cord, posterior arch.
    if (z < spineTop) {
      const seg = (spineTop - z) % 19;
      const disc = seg > 14;
      const rb = Math.sqrt(dx * dx + (y - vertY) ** 2);
      if (rb < 10.5) {
        if (disc) return T.SOFT_TISSUE;
        return rb > 9 || seg < 1.3 || seg > 12.7 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
      }
      const rc = Math.sqrt(dx * dx + (y - canalY) ** 2);
      if (rc < 4.5) return T.WHITE_MATTER;
      if (rc < 7.5) return T.CSF;
      if (rc < 12 && y > canalY - 4 && !disc) return rc < 8.8 || rc > 10.7 ? T.CORTICAL_BONE : T.TRABECULAR_BONE;
    }
    if (patchN.sample(x, y, z) > 0.5) return T.FAT;
    return T.SOFT_TISSUE;
  };
}
