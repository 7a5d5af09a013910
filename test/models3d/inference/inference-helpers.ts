/** Test helpers for the inference tests: synthetic volumes, simple generators, option sets. */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../../volumes/normalize.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Mat3, Volume } from '../../../volumes/volume.ts';
import type { TranslateVolumeOptions } from '../../../models3d/inference/translate-volume.ts';

export const CT_WINDOW: Normalization = { type: 'ct-window', lower: -1000, upper: 2000 };

/** Rotation about z by 20° then about x by 35° (orthonormal, not axis-aligned). */
export function tiltedDirection(): Mat3 {
  const a = (20 * Math.PI) / 180;
  const b = (35 * Math.PI) / 180;
  const rz = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  const rx = [1, 0, 0, 0, Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b)];
  const m: number[] = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) m.push(rx[r * 3] * rz[c] + rx[r * 3 + 1] * rz[3 + c] + rx[r * 3 + 2] * rz[6 + c]);
  return m as unknown as Mat3;
}

/** A CT-like volume: a smooth pattern in −900..1800 HU (inside CT_WINDOW), different along every axis. */
export function ctVolume(shape: [number, number, number], direction: Mat3 = tiltedDirection()): Volume<Float32Array> {
  const [nx, ny, nz] = shape;
  const data = new Float32Array(nx * ny * nz);
  let p = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        data[p++] = 450 + 900 * Math.sin(0.37 * i + 0.11 * j * j) + 400 * Math.cos(0.23 * j - 0.5 * k) + 3 * i - 2 * k;
      }
    }
  }
  return createVolume({
    data,
    shape,
    spacing: [0.8, 1.1, 2.5],
    origin: [-12.5, 30, 7],
    direction,
    modality: 'CT',
    meta: { units: 'HU', description: 'synthetic' },
  });
}

/** Identity options: the same CT window in and out, so an identity generator reproduces the input. */
export function identityOptions(spatialDims: 2 | 3, extra: Partial<TranslateVolumeOptions> = {}): TranslateVolumeOptions {
  return {
    spatialDims,
    sizeMultiple: 4,
    sourceNormalization: CT_WINDOW,
    targetNormalization: CT_WINDOW,
    targetModality: 'CT',
    targetUnits: 'HU',
    ...extra,
  };
}

export const identity = (x: tf.Tensor): tf.Tensor => x.clone();

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return a.length === b.length ? d : Infinity;
}
