/**
 * MR motion (TorchIO's Motion): the patient moved `transforms.length` times during the acquisition.
 * Each pose (rigid rotation/translation about the grid centre, as Affine) gives an image whose
 * k-space is taken for one segment of the last voxel axis (k, the slowest phase-encoding direction
 * here); segment boundaries are `times` (sorted fractions in (0, 1)). The original pose fills the
 * segment holding the k-space centre (TorchIO's choice: contrast comes from the still image), the
 * moved poses the others in order. Label maps are untouched (this is an artefact, not a motion of
 * the anatomy). Not invertible.
 */
import { uniform } from '../../volumes/random.ts';
import { deriveVolume, voxelCount } from '../../volumes/volume.ts';
import { OptionReader } from '../options.ts';
import type { Vec3 } from '../options.ts';
import { subjectGrid } from '../subject.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { affineComponentsMatrix, affineVoxelMatrix } from '../spatial/affine.ts';
import { warpVolume } from '../spatial/warp.ts';
import { freqIndex, imageOf, spectrumOf } from './kspace.ts';
import type { Spectrum } from './kspace.ts';

export interface MotionParams {
  /** 3 angles (degrees) per moved pose. */
  rotationDeg: number[];
  /** 3 translations (mm) per moved pose. */
  translationMm: number[];
  /** One sorted fraction in (0, 1) per moved pose. */
  times: number[];
  include?: string[];
}

export function Motion(params: MotionParams, where = 'Motion'): DeterministicTransform {
  const r = new OptionReader(where, params, ['rotationDeg', 'translationMm', 'times', 'include']);
  const inc = includeParam(r.include());
  const times = r.numbers('times', undefined);
  if (times.length === 0 || times.some((t, i) => !(t > 0 && t < 1) || (i > 0 && t < times[i - 1]))) {
    r.fail('times', 'expected sorted fractions in (0, 1), one per moved pose', times);
  }
  const rotationDeg = r.numbers('rotationDeg', undefined, 3 * times.length);
  const translationMm = r.numbers('translationMm', undefined, 3 * times.length);
  return defineTwin('Motion', { rotationDeg, translationMm, times, ...inc }, (subject) => {
    const grid = subjectGrid(subject);
    const [, , nz] = grid.shape;
    const matrices = times.map((_, t) =>
      affineVoxelMatrix(
        grid,
        affineComponentsMatrix(
          rotationDeg.slice(3 * t, 3 * t + 3) as unknown as Vec3,
          [1, 1, 1],
          [0, 0, 0],
          translationMm.slice(3 * t, 3 * t + 3) as unknown as Vec3,
        ),
      ),
    );
    // Segment s covers centred k positions [bounds[s], bounds[s+1]); which pose fills it:
    const bounds = [0, ...times.map((t) => Math.floor(t * nz)), nz];
    const centreSeg = bounds.findIndex((b, s) => s < bounds.length - 1 && Math.floor(nz / 2) >= b && Math.floor(nz / 2) < bounds[s + 1]);
    const poseOfSeg: number[] = [];
    let moved = 0;
    for (let s = 0; s < bounds.length - 1; s++) poseOfSeg.push(s === centreSeg ? -1 : moved++);
    return mapVolumes(subject, 'intensity', (v) => {
      const n = voxelCount(v.shape);
      const out = new Float32Array(n * v.channels);
      const movedVols = matrices.map((m) => warpVolume(v, m, null, 'linear'));
      const plane = v.shape[0] * v.shape[1];
      for (let ch = 0; ch < v.channels; ch++) {
        const src = v.data.subarray(ch * n, (ch + 1) * n);
        let min = Infinity;
        for (let i = 0; i < n; i++) if (src[i] < min) min = src[i];
        // Segments are whole k-planes along k: the 1-D transforms along k suffice (see kspace.ts).
        const result: Spectrum = spectrumOf(src, v.shape, 2);
        for (let s = 0; s < poseOfSeg.length; s++) {
          const pose = poseOfSeg[s];
          if (pose < 0) continue;
          const spec = spectrumOf(movedVols[pose].data.subarray(ch * n, (ch + 1) * n), v.shape, 2);
          for (let c = bounds[s]; c < bounds[s + 1]; c++) {
            const k = freqIndex(c - Math.floor(nz / 2), nz);
            result.re.set(spec.re.subarray(k * plane, (k + 1) * plane), k * plane);
            result.im.set(spec.im.subarray(k * plane, (k + 1) * plane), k * plane);
          }
        }
        imageOf(result, v.shape, min >= 0, out.subarray(ch * n, (ch + 1) * n), 2);
      }
      return deriveVolume(v, { data: out });
    }, inc.include);
  });
}

export interface RandomMotionOptions {
  /** Each angle uniform in ±this (degrees). Default 10 (TorchIO). */
  degrees?: number;
  /** Each translation uniform in ±this (mm). Default 10 (TorchIO). */
  translationMm?: number;
  /** Moved poses. Default 2 (TorchIO). */
  numTransforms?: number;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomMotion(options: RandomMotionOptions = {}, where = 'RandomMotion'): Transform {
  const r = new OptionReader(where, options, ['degrees', 'translationMm', 'numTransforms', 'p', 'include']);
  const inc = includeParam(r.include());
  const deg = r.number('degrees', 10, 0, 180);
  const tr = r.number('translationMm', 10, 0);
  const count = r.number('numTransforms', 2, 1, 20, true);
  return defineRandom('RandomMotion', r.prob('p', 1), (_s, rng) => {
    const rotationDeg = Array.from({ length: 3 * count }, () => uniform(rng, -deg, deg));
    const translationMm = Array.from({ length: 3 * count }, () => uniform(rng, -tr, tr));
    const times = Array.from({ length: count }, () => uniform(rng, 0.05, 0.95)).sort((a, b) => a - b);
    return Motion({ rotationDeg, translationMm, times, ...inc });
  });
}
