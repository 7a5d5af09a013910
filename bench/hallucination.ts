/**
 * Does the segmentation-consistency check (validation/consistency/check-consistency.ts) catch
 * invented and erased anatomy, and does it stay quiet when nothing changed?
 *
 * Pairs:
 * - Phantom (head and pelvis subjects, volumes/phantom): source = the T1w MR (default scanner
 *   effects: bias field, Rician noise), synthetic = the subject's true CT — a perfect translation —
 *   then, in the CT:
 *   - hallucinations: a blob in a plausible place (inside soft tissue or brain, or inside fat, at
 *     least its radius + 2 mm from any other tissue, and its radius + 2 mm + the check's border
 *     tolerance from tissue of its own CT class, so that it is new anatomy, not a bulge of an
 *     existing structure): a bone fragment (a randomly oriented ellipsoid,
 *     axes ×0.75..1.3, of 1000–1400 HU), or a tissue blob (fat −100 HU or an air pocket −900 HU in
 *     soft tissue, soft tissue +40 HU in fat), rendered with partial volume (27 sub-samples per
 *     voxel) and the CT's noise, of 0.1, 0.25, 0.5, 1, 2, 5 and 10 cm³;
 *   - removals: real structures of the phantom (each air cavity and each fat pocket of
 *     0.1–15 cm³) filled with the median HU of the tissue around them, plus noise.
 * - Real CT (../shared/data nifti/ct/totalseg_example_ct.nii.gz, 3 mm, with its TotalSegmentator
 *   labels): source = the CT, synthetic = the CT plus 10 HU Gaussian noise ("lightly noised copy"),
 *   then: the same blobs in the liver, spleen and back/hip muscles (bone, fat, air) or in
 *   subcutaneous fat (soft tissue); removal of each kidney (filled with the HU around it); removal
 *   of lesions: the source gets a lesion (fat −80 HU or calcified 400 HU, 0.1–10 cm³, in liver,
 *   spleen or kidney), the synthetic image does not.
 * - Untouched pairs for the false-alarm rate: every phantom subject's MR/CT pair, and the real CT
 *   against itself and against noised copies.
 *
 * Sizes are the volume of the blob or of the removed structure; a removed structure is counted in
 * the column of the largest listed size not above its volume. A change counts as detected when a finding (hallucinated or removed, ≥ minVolumeMm3) overlaps
 * it; findings elsewhere in a changed pair are counted as extra. A false alarm is an untouched pair
 * with any finding (verdict 'fail'). Target (issue 5): ≥ 95 % detected at ≥ 0.5 cm³, ≤ 5 % false
 * alarms.
 *
 *   npx tsx bench/hallucination.ts [--quick] [--min-volume MM3] [--bone-hu HU] [--seeds 1,2,3] [--only phantom|real]
 *                                  [--shard K/N] [--json OUT] [--merge A.json B.json ...]
 *
 * --quick: 2 phantom subjects and fewer real-CT trials (a few minutes). --shard splits the work
 * (subject by subject) so shards can run in parallel; --merge prints the tables of saved shards,
 * re-scored at --min-volume (every finding ≥ 50 mm³ is saved).
 *
 * Measured with the defaults (minVolumeMm3 200, toleranceVoxels 2, openingVoxels 1, CT bone ≥ 800
 * HU), full run, 556 pairs (6 head + 6 pelvis phantoms, the real CT), 7 minutes as two shards:
 * - detected at ≥ 0.5 cm³: 98 % (399/409) — every hallucination (215/215), 95 % of removals
 *   (184/194); real CT 61/61, phantom 338/348. All ten misses are phantom fat pockets of
 *   1.4–3.3 cm³ that are sheets under three voxels thick, which the opening removes by design.
 *   At 0.25 cm³ 65 % are found, at 0.1 cm³ almost none (below minVolumeMm3: findings of a
 *   0.5 cm³ blob measure 243–675 mm³ after the filters).
 * - false alarms: 0 % of untouched pairs (0/12 phantom MR/CT, 0/21 real CT against itself or a
 *   noised copy), and no finding away from the change in any of the 523 changed pairs; with the
 *   filters on, no difference of 50 mm³ or more survives on an untouched pair.
 * The untouched sample is small (12 phantom subjects, one real CT), so "0 %" bounds the rate at
 * about 9 % with 95 % confidence, not at 0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { affineOf, applyAffine } from '../volumes/affine.ts';
import { readVolume } from '../volumes/io.ts';
import { generatePhantom } from '../volumes/phantom/index.ts';
import { createRng, normal, uniform } from '../volumes/random.ts';
import type { Rng } from '../volumes/random.ts';
import { deriveVolume } from '../volumes/volume.ts';
import type { Volume } from '../volumes/volume.ts';
import { checkConsistencyDetailed, DEFAULT_THRESHOLDS } from '../validation/consistency/check-consistency.ts';
import { squaredDistanceTransform } from '../validation/metrics/distance-transform.ts';
import { connectedComponents } from '../validation/segment/components.ts';
import { ctSegmenter } from '../validation/segment/ct-segmenter.ts';
import { dilate } from '../validation/segment/morphology.ts';
import { mrSegmenter } from '../validation/segment/mr-segmenter.ts';
import type { Segmenter } from '../validation/segment/segmenter.ts';

const { values: args, positionals } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'min-volume': { type: 'string' },
    shard: { type: 'string' },
    json: { type: 'string' },
    merge: { type: 'boolean', default: false },
    'bone-hu': { type: 'string' },
    tolerance: { type: 'string' },
    opening: { type: 'string' },
    repeats: { type: 'string' },
    seeds: { type: 'string' },
    only: { type: 'string' },
  },
  allowPositionals: true,
});

const SIZES_CM3 = [0.1, 0.25, 0.5, 1, 2, 5, 10];
const SHARED = process.env.VOXSHIFT_SHARED_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');

type Dataset = 'phantom' | 'real';
interface Trial {
  dataset: Dataset;
  subject: string;
  /** 'untouched', 'hallucinated:<kind>' or 'removed:<kind>'. */
  change: string;
  sizeCm3: number;
  detected: boolean;
  /** Findings of the pair not overlapping the change. */
  extraFindings: number;
  verdict: 'pass' | 'fail';
  largestFindingMm3: number;
  /** Volume of the largest finding on the change (0 if none), and of every other finding. */
  changeFindingMm3: number;
  otherFindingsMm3: number[];
}

interface Pair {
  source: Volume;
  synthetic: Volume;
  sourceSegmenter: Segmenter;
  sourceSegmentation: Volume<Uint8Array>;
}

const minVolumeMm3 = args['min-volume'] !== undefined ? Number(args['min-volume']) : DEFAULT_THRESHOLDS.minVolumeMm3;
const extraThresholds = {
  ...(args.tolerance !== undefined ? { toleranceVoxels: Number(args.tolerance) } : {}),
  ...(args.opening !== undefined ? { openingVoxels: Number(args.opening) } : {}),
};
const ct = ctSegmenter(args['bone-hu'] !== undefined ? { boneHu: Number(args['bone-hu']) } : {});

type TrialMeta = Pick<Trial, 'dataset' | 'subject' | 'change' | 'sizeCm3'>;

function runPair(pair: Pair, changed: Uint8Array | null, meta: TrialMeta): Trial {
  const { report, maps } = checkConsistencyDetailed({
    source: pair.source,
    synthetic: pair.synthetic,
    sourceSegmenter: pair.sourceSegmenter,
    syntheticSegmenter: ct,
    // calibration: keep small findings too (--min-volume applies below)
    segmentations: { source: pair.sourceSegmentation },
    thresholds: { minVolumeMm3: Math.min(minVolumeMm3, 50), ...extraThresholds },
  });
  const kept = report.findings.filter((f) => f.volumeMm3 >= minVolumeMm3);
  const hits = new Set<number>();
  if (changed) {
    const grown = dilate(changed, { shape: pair.source.shape, spacing: [1, 1, 1] }, 1);
    for (let p = 0; p < grown.length; p++) {
      if (grown[p] === 0) continue;
      if (maps.hallucinated.data[p] !== 0) hits.add(maps.hallucinated.data[p]);
      if (maps.removed.data[p] !== 0) hits.add(maps.removed.data[p]);
    }
  }
  const onChange = kept.filter((f) => hits.has(f.id));
  const others = report.findings.filter((f) => !hits.has(f.id));
  return {
    ...meta,
    detected: onChange.length > 0,
    extraFindings: others.filter((f) => f.volumeMm3 >= minVolumeMm3).length,
    verdict: kept.length > 0 ? 'fail' : 'pass',
    largestFindingMm3: kept.reduce((m, f) => Math.max(m, f.volumeMm3), 0),
    changeFindingMm3: report.findings.filter((f) => hits.has(f.id)).reduce((m, f) => Math.max(m, f.volumeMm3), 0),
    otherFindingsMm3: others.map((f) => f.volumeMm3),
  };
}

// ---------------------------------------------------------------- changes to a CT

function withData(like: Volume, data: Float32Array): Volume<Float32Array> {
  return deriveVolume<Float32Array>(like, { data });
}

function addNoise(vol: Volume, sigma: number, seed: number): Volume<Float32Array> {
  const rng = createRng(seed);
  return withData(vol, Float32Array.from(vol.data, (v) => v + normal(rng, 0, sigma)));
}

/** A randomly oriented ellipsoid of `volumeMm3` at world point `c`, painted with partial volume. */
function paintBlob(vol: Volume<Float32Array>, c: readonly number[], volumeMm3: number, hu: number, noise: number, rng: Rng): { vol: Volume<Float32Array>; mask: Uint8Array } {
  const ratios = [uniform(rng, 0.75, 1.3), uniform(rng, 0.75, 1.3), uniform(rng, 0.75, 1.3)];
  const g = Math.cbrt(ratios[0] * ratios[1] * ratios[2]);
  const r0 = Math.cbrt((3 * volumeMm3) / (4 * Math.PI));
  const axes = ratios.map((x) => (r0 * x) / g);
  const [a, b, e] = [uniform(rng, 0, 2 * Math.PI), uniform(rng, 0, 2 * Math.PI), uniform(rng, 0, 2 * Math.PI)];
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const rz = [Math.cos(e), -Math.sin(e), 0, Math.sin(e), Math.cos(e), 0, 0, 0, 1];
  const mul = (p: number[], q: number[]): number[] => {
    const out = new Array<number>(9).fill(0);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i * 3 + j] += p[i * 3 + k] * q[k * 3 + j];
    return out;
  };
  const rot = mul(rz, mul(ry, rx));
  const aff = affineOf(vol);
  const inv = (() => {
    const m = [aff[0], aff[1], aff[2], aff[4], aff[5], aff[6], aff[8], aff[9], aff[10]];
    const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    return [
      (m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det, (m[1] * m[5] - m[2] * m[4]) / det,
      (m[5] * m[6] - m[3] * m[8]) / det, (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
      (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det, (m[0] * m[4] - m[1] * m[3]) / det,
    ];
  })();
  const rmax = Math.max(...axes) + 1;
  const cv = [0, 1, 2].map((r) => inv[r * 3] * (c[0] - aff[3]) + inv[r * 3 + 1] * (c[1] - aff[7]) + inv[r * 3 + 2] * (c[2] - aff[11]));
  const [nx, ny, nz] = vol.shape;
  const lo = [0, 1, 2].map((ax) => Math.max(0, Math.floor(cv[ax] - rmax / vol.spacing[ax]) - 1));
  const hi = [nx - 1, ny - 1, nz - 1].map((n, ax) => Math.min(n, Math.ceil(cv[ax] + rmax / vol.spacing[ax]) + 1));
  const data = Float32Array.from(vol.data);
  const mask = new Uint8Array(data.length);
  const sub = [-1 / 3, 0, 1 / 3];
  for (let k = lo[2]; k <= hi[2]; k++) {
    for (let j = lo[1]; j <= hi[1]; j++) {
      for (let i = lo[0]; i <= hi[0]; i++) {
        let inside = 0;
        for (const dk of sub) {
          for (const dj of sub) {
            for (const di of sub) {
              const w = applyAffine(aff, [i + di, j + dj, k + dk]);
              const d = [w[0] - c[0], w[1] - c[1], w[2] - c[2]];
              let s = 0;
              for (let ax = 0; ax < 3; ax++) {
                const t = (rot[ax] * d[0] + rot[3 + ax] * d[1] + rot[6 + ax] * d[2]) / axes[ax];
                s += t * t;
              }
              if (s <= 1) inside++;
            }
          }
        }
        if (inside === 0) continue;
        const f = inside / 27;
        const p = i + nx * (j + ny * k);
        data[p] = (1 - f) * data[p] + f * (hu + normal(rng, 0, noise));
        if (f >= 0.5) mask[p] = 1;
      }
    }
  }
  return { vol: withData(vol, data), mask };
}

/**
 * Fills `mask` with the median HU of the soft tissue and fat (−200..150 HU) in a 2-voxel shell
 * around it, outside `exclude`, plus noise.
 */
function fillStructure(vol: Volume, mask: Uint8Array, exclude: (p: number) => boolean, noise: number, rng: Rng): Volume<Float32Array> {
  const shell = dilate(mask, { shape: vol.shape, spacing: [1, 1, 1] }, 2);
  const values: number[] = [];
  for (let p = 0; p < shell.length; p++) {
    const v = vol.data[p];
    if (shell[p] !== 0 && mask[p] === 0 && !exclude(p) && v > -200 && v < 150) values.push(v);
  }
  values.sort((x, y) => x - y);
  const median = values.length > 0 ? values[values.length >> 1] : 40;
  const data = Float32Array.from(vol.data);
  for (let p = 0; p < data.length; p++) if (mask[p] !== 0) data[p] = median + normal(rng, 0, noise);
  return withData(vol, data);
}

/** Candidate centres (voxel indices) at least `distMm` inside `host`. */
function hostDistances(host: Uint8Array, vol: Volume): Float64Array {
  const outside = Uint8Array.from(host, (v) => (v === 0 ? 1 : 0));
  return squaredDistanceTransform(outside, vol.shape, vol.spacing);
}

/**
 * A random voxel centre at least `minDistMm` inside the host (`d2`: squared distances to its
 * outside) and `minClassMm` from tissue of the blob's own class (`c2`).
 */
function pickCentre(d2: Float64Array, c2: Float64Array, vol: Volume, minDistMm: number, minClassMm: number, rng: Rng): readonly number[] | null {
  const need = minDistMm * minDistMm;
  const needClass = minClassMm * minClassMm;
  const ok: number[] = [];
  for (let p = 0; p < d2.length; p++) if (d2[p] >= need && d2[p] !== Infinity && c2[p] >= needClass) ok.push(p);
  if (ok.length === 0) return null;
  const p = ok[Math.min(ok.length - 1, Math.floor(rng() * ok.length))];
  const [nx, ny] = vol.shape;
  return applyAffine(affineOf(vol), [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))]);
}

interface BlobKind {
  name: string;
  hu: (rng: Rng) => number;
  host: 'soft' | 'fat';
  /** The blob's class in the CT segmentation. */
  ctClass: number;
}

const BONE: BlobKind = { name: 'bone', hu: (rng) => uniform(rng, 1000, 1400), host: 'soft', ctClass: 5 };
const TISSUES: BlobKind[] = [
  { name: 'fat', hu: () => -100, host: 'soft', ctClass: 2 },
  { name: 'soft', hu: () => 40, host: 'fat', ctClass: 3 },
  { name: 'air', hu: () => -900, host: 'soft', ctClass: 1 },
];

interface Hosts {
  soft: Float64Array;
  fat: Float64Array;
  /** Squared distances (mm²) to voxels of each CT class in the unchanged CT. */
  toClass: Map<number, Float64Array>;
  /** The check's border tolerance in mm (toleranceVoxels × the largest spacing). */
  toleranceMm: number;
}

function hostsFor(vol: Volume, soft: Uint8Array, fat: Uint8Array): Hosts {
  const classes = ct.segment(vol).data;
  const toClass = new Map<number, Float64Array>();
  for (const c of [1, 2, 3, 5, 6]) toClass.set(c, squaredDistanceTransform(Uint8Array.from(classes, (v) => (v === c ? 1 : 0)), vol.shape, vol.spacing));
  const tol = extraThresholds.toleranceVoxels ?? DEFAULT_THRESHOLDS.toleranceVoxels;
  return { soft: hostDistances(soft, vol), fat: hostDistances(fat, vol), toClass, toleranceMm: tol * Math.max(...vol.spacing) };
}

function injectTrials(
  dataset: Dataset,
  subject: string,
  base: () => Volume<Float32Array>,
  pairOf: (synthetic: Volume) => Pair,
  hosts: Hosts,
  noise: number,
  repeats: number,
  seed: number,
): Trial[] {
  const out: Trial[] = [];
  const rng = createRng(seed);
  let tissueTurn = 0;
  for (const size of SIZES_CM3) {
    for (let rep = 0; rep < repeats; rep++) {
      for (const kind of [BONE, TISSUES[tissueTurn++ % TISSUES.length]]) {
        const vol = base();
        const r = Math.cbrt((3 * size * 1000) / (4 * Math.PI)) * 1.3;
        const c = pickCentre(hosts[kind.host], hosts.toClass.get(kind.ctClass)!, vol, r + 2, r + 2 + hosts.toleranceMm, rng);
        if (!c) {
          console.log(`  ${subject}: no room for a ${size} cm³ ${kind.name} blob in ${kind.host}, skipped`);
          continue;
        }
        const { vol: synthetic, mask } = paintBlob(vol, c, size * 1000, kind.hu(rng), noise, rng);
        out.push(runPair(pairOf(synthetic), mask, { dataset, subject, change: `hallucinated:${kind.name}`, sizeCm3: size }));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- phantom subjects

function phantomTrials(region: 'head' | 'pelvis', seed: number, repeats: number): Trial[] {
  const subject = `${region}-${seed}`;
  const t0 = performance.now();
  const p = generatePhantom({ region, seed });
  const mr = mrSegmenter();
  const sourceSegmentation = mr.segment(p.t1);
  const pairOf = (synthetic: Volume): Pair => ({ source: p.t1, synthetic, sourceSegmenter: mr, sourceSegmentation });
  const trials: Trial[] = [runPair(pairOf(p.ct), null, { dataset: 'phantom', subject, change: 'untouched', sizeCm3: 0 })];
  const labels = p.labels.data;
  const hosts = hostsFor(p.ct, Uint8Array.from(labels, (l) => (l === 3 || l === 4 || l === 5 ? 1 : 0)), Uint8Array.from(labels, (l) => (l === 2 ? 1 : 0)));
  const noise = p.params.ctNoiseHu;
  trials.push(...injectTrials('phantom', subject, () => p.ct, pairOf, hosts, noise, repeats, seed * 7919 + 1));
  // removals: air cavities (1) and fat pockets (2) of 0.1–15 cm³
  const rng = createRng(seed * 104729 + 3);
  for (const [label, name] of [[1, 'air'], [2, 'fat']] as const) {
    const { labels: comps, components } = connectedComponents(p.labels, { label, connectivity: 6, minVolumeMm3: 100 });
    for (const comp of components.filter((x) => x.volumeMm3 <= 15000).slice(0, repeats * 4)) {
      const mask = Uint8Array.from(comps.data, (v) => (v === comp.id ? 1 : 0));
      const synthetic = fillStructure(p.ct, mask, (q) => labels[q] === 0 || labels[q] === label, noise, rng);
      trials.push(runPair(pairOf(synthetic), mask, { dataset: 'phantom', subject, change: `removed:${name}`, sizeCm3: comp.volumeMm3 / 1000 }));
    }
  }
  console.log(`  ${subject}: ${trials.length} pairs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return trials;
}

// ---------------------------------------------------------------- real CT

async function realTrials(quick: boolean): Promise<Trial[]> {
  const t0 = performance.now();
  const subject = 'totalseg_example_ct';
  const raw = await readVolume(join(SHARED, 'nifti/ct/totalseg_example_ct.nii.gz'), { modality: 'CT' });
  const seg = await readVolume(join(SHARED, 'labels/totalseg_example_seg_fast_force_split.nii.gz'), { kind: 'label' });
  const ctVol = deriveVolume<Float32Array>(raw, { data: Float32Array.from(raw.data), modality: 'CT', meta: { units: 'HU' } });
  const sourceSegmentation = ct.segment(ctVol);
  const pairOf = (synthetic: Volume): Pair => ({ source: ctVol, synthetic, sourceSegmenter: ct, sourceSegmentation });
  const noise = 10;
  const copies = quick ? 4 : 20;
  const trials: Trial[] = [runPair(pairOf(ctVol), null, { dataset: 'real', subject, change: 'untouched', sizeCm3: 0 })];
  for (let s = 0; s < copies; s++) trials.push(runPair(pairOf(addNoise(ctVol, noise, 1000 + s)), null, { dataset: 'real', subject, change: 'untouched', sizeCm3: 0 }));

  const L = seg.data;
  const softIds = new Set([1, 5, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89]);
  const body = sourceSegmentation.data;
  const hosts = hostsFor(
    ctVol,
    Uint8Array.from(L, (l) => (softIds.has(l) ? 1 : 0)),
    Uint8Array.from(L, (l, p) => (l === 0 && body[p] !== 0 && ctVol.data[p] > -150 && ctVol.data[p] < -60 ? 1 : 0)),
  );
  let copySeed = 5000;
  const base = (): Volume<Float32Array> => addNoise(ctVol, noise, copySeed++);
  trials.push(...injectTrials('real', subject, base, pairOf, hosts, noise, quick ? 1 : 3, 424242));

  const rng = createRng(777);
  for (const [id, name] of [[2, 'kidney_right'], [3, 'kidney_left']] as const) {
    const mask = Uint8Array.from(L, (l) => (l === id ? 1 : 0));
    let n = 0;
    for (const m of mask) n += m;
    const synthetic = fillStructure(base(), mask, (q) => L[q] === id || body[q] === 0, noise, rng);
    trials.push(runPair(pairOf(synthetic), mask, { dataset: 'real', subject, change: `removed:${name}`, sizeCm3: (n * 27) / 1000 }));
  }
  // lesions: present in the source, gone from the synthetic image
  const organ = hostDistances(Uint8Array.from(L, (l) => (l === 1 || l === 5 || l === 2 || l === 3 ? 1 : 0)), ctVol);
  const lesionKinds = [
    { name: 'fat-lesion', hu: -80, ctClass: 2 },
    { name: 'calcified-lesion', hu: 400, ctClass: 6 },
  ];
  for (const size of SIZES_CM3) {
    for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
      for (const kind of lesionKinds) {
        const r = Math.cbrt((3 * size * 1000) / (4 * Math.PI)) * 1.3;
        const c = pickCentre(organ, hosts.toClass.get(kind.ctClass)!, ctVol, r + 2, r + 2 + hosts.toleranceMm, rng);
        if (!c) {
          console.log(`  ${subject}: no room for a ${size} cm³ lesion, skipped`);
          continue;
        }
        const { vol: withLesion, mask } = paintBlob(ctVol, c, size * 1000, kind.hu, noise, rng);
        const pair: Pair = { source: withLesion, synthetic: base(), sourceSegmenter: ct, sourceSegmentation: ct.segment(withLesion) };
        trials.push(runPair(pair, mask, { dataset: 'real', subject, change: `removed:${kind.name}`, sizeCm3: size }));
      }
    }
  }
  console.log(`  ${subject}: ${trials.length} pairs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return trials;
}

// ---------------------------------------------------------------- tables

function rescore(t: Trial): Trial {
  const others = t.otherFindingsMm3.filter((v) => v >= minVolumeMm3);
  const detected = t.changeFindingMm3 >= minVolumeMm3;
  return {
    ...t,
    detected,
    extraFindings: others.length,
    verdict: others.length > 0 || detected ? 'fail' : 'pass',
    largestFindingMm3: Math.max(0, ...others, detected ? t.changeFindingMm3 : 0),
  };
}

function pct(k: number, n: number): string {
  return n === 0 ? '—' : `${((100 * k) / n).toFixed(0)}% (${k}/${n})`;
}

/** The largest listed size not above `size` (removed real structures have their own sizes). */
function sizeBin(size: number): string {
  let bin = SIZES_CM3[0];
  for (const s of SIZES_CM3) if (s <= size + 1e-9) bin = s;
  return `${bin}`;
}

function report(trials: Trial[]): void {
  console.log(`\nminVolumeMm3 = ${minVolumeMm3}, ${trials.length} pairs\n`);
  const changed = trials.filter((t) => t.change !== 'untouched');
  const groups = [...new Set(changed.map((t) => `${t.dataset} ${t.change}`))].sort();
  console.log('detection by size (cm³):');
  const bins = [...new Set(changed.map((t) => sizeBin(t.sizeCm3)))].sort((a, b) => parseFloat(a) - parseFloat(b));
  const header = ['change', ...bins];
  const rows = groups.map((g) => [
    g,
    ...bins.map((b) => {
      const sel = changed.filter((t) => `${t.dataset} ${t.change}` === g && sizeBin(t.sizeCm3) === b);
      return sel.length === 0 ? '' : pct(sel.filter((t) => t.detected).length, sel.length);
    }),
  ]);
  rows.push(['all', ...bins.map((b) => {
    const sel = changed.filter((t) => sizeBin(t.sizeCm3) === b);
    return pct(sel.filter((t) => t.detected).length, sel.length);
  })]);
  const widths = header.map((_, c) => Math.max(...[header, ...rows].map((r) => r[c].length)));
  for (const r of [header, ...rows]) console.log('  ' + r.map((x, c) => x.padEnd(widths[c])).join('  '));

  const big = changed.filter((t) => t.sizeCm3 >= 0.5);
  const hitBig = big.filter((t) => t.detected).length;
  const untouched = trials.filter((t) => t.change === 'untouched');
  const alarms = untouched.filter((t) => t.verdict === 'fail');
  console.log(`\ndetected at ≥ 0.5 cm³: ${pct(hitBig, big.length)}   (target ≥ 95%)`);
  for (const d of ['phantom', 'real'] as const) {
    const sel = big.filter((t) => t.dataset === d);
    console.log(`  ${d}: ${pct(sel.filter((t) => t.detected).length, sel.length)}`);
  }
  for (const kind of ['hallucinated', 'removed']) {
    const sel = big.filter((t) => t.change.startsWith(kind));
    console.log(`  ${kind}: ${pct(sel.filter((t) => t.detected).length, sel.length)}`);
  }
  console.log(`false alarms on untouched pairs: ${pct(alarms.length, untouched.length)}   (target ≤ 5%)`);
  for (const d of ['phantom', 'real'] as const) {
    const sel = untouched.filter((t) => t.dataset === d);
    const a = sel.filter((t) => t.verdict === 'fail');
    console.log(`  ${d}: ${pct(a.length, sel.length)}; largest finding on an untouched pair ${Math.max(0, ...sel.map((t) => t.largestFindingMm3)).toFixed(0)} mm³`);
  }
  const extra = changed.filter((t) => t.extraFindings > 0);
  console.log(`changed pairs with findings away from the change: ${pct(extra.length, changed.length)}`);
  const missed = big.filter((t) => !t.detected);
  if (missed.length > 0) console.log('missed at ≥ 0.5 cm³:', missed.map((t) => `${t.subject} ${t.change} ${t.sizeCm3.toFixed(2)}`).join('; '));
  console.log(`\ntargets: detection ${hitBig >= 0.95 * big.length ? 'met' : 'NOT met'}, false alarms ${alarms.length <= 0.05 * untouched.length ? 'met' : 'NOT met'}`);
}

// ---------------------------------------------------------------- main

if (args.merge) {
  // every finding ≥ 50 mm³ is recorded, so saved shards can be re-scored at any larger --min-volume
  const all: Trial[] = positionals.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { trials: Trial[] }).trials);
  report(all.map((t) => rescore(t)));
} else {
  const quick = Boolean(args.quick);
  const seeds = args.seeds ? args.seeds.split(',').map(Number) : quick ? [1] : [1, 2, 3, 4, 5, 6];
  const repeats = args.repeats !== undefined ? Number(args.repeats) : quick ? 1 : 2;
  const jobs: (() => Promise<Trial[]> | Trial[])[] = [];
  if (args.only !== 'real') {
    for (const s of seeds) {
      jobs.push(() => phantomTrials('head', s, repeats));
      jobs.push(() => phantomTrials('pelvis', s, repeats));
    }
  }
  if (args.only !== 'phantom') jobs.push(() => realTrials(quick));
  let [k, n] = [0, 1];
  if (args.shard) {
    [k, n] = args.shard.split('/').map(Number);
    if (!(Number.isInteger(k) && Number.isInteger(n) && k >= 0 && k < n)) throw new Error(`--shard must be K/N with 0 ≤ K < N, got ${args.shard}`);
  }
  console.log(`hallucination bench${quick ? ' (quick)' : ''}${args.shard ? `, shard ${k}/${n}` : ''}: ${jobs.length} subjects`);
  const trials: Trial[] = [];
  for (let j = k; j < jobs.length; j += n) trials.push(...(await jobs[j]()));
  if (args.json) writeFileSync(args.json, JSON.stringify({ minVolumeMm3, trials }, null, 1));
  report(trials);
}
