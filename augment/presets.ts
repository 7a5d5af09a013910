/**
 * Ready-made pipelines, close to what nnU-Net and TorchIO users expect. Intensity amounts are
 * relative (noise as a fraction of the image's standard deviation, gamma on the min–max range,
 * multiplicative brightness/contrast), so the presets work on raw HU and on arbitrary MR units.
 *
 * - `ct` — nnU-Net's default 3-D augmentation, minus mirroring: rotation ±30° and scaling 0.7–1.4
 *   (one resampling, p 0.35 ≈ nnU-Net's two independent p 0.2), Gaussian noise (p 0.1), Gaussian
 *   blur 0.5–1.5 mm (p 0.2), brightness and contrast 0.75–1.25 (p 0.15), simulated low resolution up
 *   to ×2 (p 0.25), gamma 0.7–1.5 (p 0.3).
 * - `mr` — TorchIO's usual MR recipe: affine (±15°, 0.85–1.15, ±5 mm, p 0.5), elastic (7 control
 *   points, ≤ 5 mm, p 0.2), one MR artefact (motion, ghosting or spike; p 0.3), bias field (order 3,
 *   ±0.5, p 0.3), anisotropy (p 0.1), blur (p 0.2), Gaussian noise (p 0.2; TorchIO's RandomNoise —
 *   RandomRicianNoise refuses signed images, so it is left to pipelines that `include` MR magnitude
 *   images only), gamma (p 0.3), brightness/contrast (p 0.15).
 * Neither flips: left–right flips swap lateralised labels; add `RandomFlip` with `axes` explicitly.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { PipelineJson } from './pipeline.ts';
import { parsePipeline } from './pipeline.ts';
import type { Transform } from './transform.ts';

export const PRESETS = {
  ct: {
    name: 'ct',
    description: 'nnU-Net-like CT augmentation (no mirroring)',
    transforms: [
      { type: 'RandomAffine', p: 0.35, rotationDeg: [-30, 30], scale: [0.7, 1.4] },
      { type: 'RandomNoise', p: 0.1, std: [0, 0.1] },
      { type: 'RandomBlur', p: 0.2, sigmaMm: [0.5, 1.5] },
      { type: 'RandomBrightnessContrast', p: 0.15, brightness: [0.75, 1.25], contrast: [0.75, 1.25] },
      { type: 'RandomAnisotropy', p: 0.25, factor: [1, 2] },
      { type: 'RandomGamma', p: 0.3, logGamma: [-0.35, 0.4] },
    ],
  },
  mr: {
    name: 'mr',
    description: 'TorchIO-like MR augmentation (no flips)',
    transforms: [
      { type: 'RandomAffine', p: 0.5, rotationDeg: [-15, 15], scale: [0.85, 1.15], translationMm: [-5, 5] },
      { type: 'RandomElastic', p: 0.2, controlPoints: 7, maxDisplacementMm: 5 },
      {
        type: 'OneOf',
        p: 0.3,
        weights: [2, 2, 1],
        transforms: [
          { type: 'RandomMotion', degrees: 5, translationMm: 5, numTransforms: 2 },
          { type: 'RandomGhosting', intensity: [0.3, 0.8] },
          { type: 'RandomSpike', intensity: [0.05, 0.3] },
        ],
      },
      { type: 'RandomBiasField', p: 0.3, coefficients: 0.5, order: 3 },
      { type: 'RandomAnisotropy', p: 0.1, factor: [1.5, 4] },
      { type: 'RandomBlur', p: 0.2, sigmaMm: [0.25, 1.5] },
      { type: 'RandomNoise', p: 0.2, std: [0, 0.1] },
      { type: 'RandomGamma', p: 0.3, logGamma: [-0.3, 0.3] },
      { type: 'RandomBrightnessContrast', p: 0.15 },
    ],
  },
} as const satisfies Record<string, PipelineJson>;

export type PresetName = keyof typeof PRESETS;

export function presetPipeline(name: PresetName): Transform {
  if (!Object.prototype.hasOwnProperty.call(PRESETS, name)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `unknown preset ${JSON.stringify(name)} (expected one of ${Object.keys(PRESETS).join(', ')})`, {
      param: 'preset',
    });
  }
  return parsePipeline(PRESETS[name], `preset.${name}`);
}
