/**
 * Brightness and contrast (nnU-Net's MultiplicativeBrightness and Contrast, without clipping so the
 * twin stays invertible): y = brightness · (m + contrast · (x − m)), m = the image's mean. The mean
 * scales by `brightness`, so BrightnessContrast(1/brightness, 1/contrast) is the exact inverse.
 * Label maps are untouched.
 */
import { deriveVolume } from '../../volumes/volume.ts';
import { uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { floatCopy, meanStd } from './common.ts';

export function BrightnessContrast(params: { brightness?: number; contrast?: number; include?: string[] }, where = 'BrightnessContrast'): DeterministicTransform {
  const r = new OptionReader(where, params, ['brightness', 'contrast', 'include']);
  const inc = includeParam(r.include());
  const brightness = r.number('brightness', 1, 1e-3, 1e3);
  const contrast = r.number('contrast', 1, 1e-3, 1e3);
  return defineTwin(
    'BrightnessContrast',
    { brightness, contrast, ...inc },
    (subject) =>
      mapVolumes(subject, 'intensity', (v) => {
        const d = floatCopy(v);
        const m = meanStd(d).mean;
        for (let i = 0; i < d.length; i++) d[i] = brightness * (m + contrast * (d[i] - m));
        return deriveVolume(v, { data: d });
      }, inc.include),
    () => BrightnessContrast({ brightness: 1 / brightness, contrast: 1 / contrast, ...inc }),
  );
}

export interface RandomBrightnessContrastOptions {
  /** Default [0.75, 1.25] (nnU-Net). */
  brightness?: Range;
  /** Default [0.75, 1.25] (nnU-Net). */
  contrast?: Range;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomBrightnessContrast(options: RandomBrightnessContrastOptions = {}, where = 'RandomBrightnessContrast'): Transform {
  const r = new OptionReader(where, options, ['brightness', 'contrast', 'p', 'include']);
  const inc = includeParam(r.include());
  const b = r.range('brightness', [0.75, 1.25], 1e-3, 1e3);
  const c = r.range('contrast', [0.75, 1.25], 1e-3, 1e3);
  return defineRandom('RandomBrightnessContrast', r.prob('p', 1), (_s, rng) =>
    BrightnessContrast({ brightness: uniform(rng, ...b), contrast: uniform(rng, ...c), ...inc }),
  );
}
