/**
 * How well an MR→CT model does on phantom subjects it never saw, against the baseline it must beat: a
 * global linear MR→HU map fitted on the training subjects. Errors are in HU inside the body (the
 * phantom's label map, tissue ≠ air), as SynthRAD scores synthetic CT.
 */
import type { PhantomRegion } from '../../volumes/phantom/index.ts';
import { deriveVolume, type Volume } from '../../volumes/volume.ts';
import { applyLinearMapping, fitLinearMapping, type LinearFit } from '../../validation/linear-fit.ts';
import { intensityErrors } from '../../validation/metrics/intensity-errors.ts';
import { CT_DATA_RANGE } from '../../validation/metrics/data-range.ts';
import { ssim } from '../../validation/metrics/ssim.ts';
import { HELD_OUT_SEED, phantomSet, type PhantomContrast } from '../data/phantom-data.ts';
import { translate, type Translator } from '../inference/translate.ts';

export interface SubjectScore {
  seed: number;
  modelMae: number;
  baselineMae: number;
  modelSsim: number;
  baselineSsim: number;
}

export interface PhantomEvaluation {
  subjects: SubjectScore[];
  /** Means over subjects. */
  modelMae: number;
  baselineMae: number;
  modelSsim: number;
  baselineSsim: number;
  /** baselineMae / modelMae: how many times lower the model's error is. */
  improvement: number;
  fit: LinearFit;
  seconds: number;
}

export interface PhantomEvaluationOptions {
  region?: PhantomRegion;
  contrast?: PhantomContrast;
  /** Held-out subjects to score (default 3). */
  subjects?: number;
  /** Training subjects the linear baseline is fitted on (default 4, seeds 1..n as `voxshift train --phantoms`). */
  fitSubjects?: number;
  onSubject?: (done: number, total: number) => void;
  /** Called with each held-out subject's volumes, e.g. to write them or draw a montage. */
  onResult?: (r: { seed: number; mr: Volume; ct: Volume; synthetic: Volume; baseline: Volume; body: Volume<Uint8Array> }) => void | Promise<void>;
}

/** Body mask from a phantom label map: every tissue but air (label 0). */
export function phantomBody(labels: Volume): Volume<Uint8Array> {
  return deriveVolume(labels, { data: Uint8Array.from(labels.data, (v) => (v !== 0 ? 1 : 0)), kind: 'label' });
}

export async function evaluateOnPhantoms(translator: Translator, options: PhantomEvaluationOptions = {}): Promise<PhantomEvaluation> {
  const t0 = performance.now();
  const region = options.region ?? 'head';
  // A model trained on built-in phantoms records their contrast (voxshift train --phantoms).
  const trainedOn = (translator.manifest.notes?.data as { contrast?: unknown } | undefined)?.contrast;
  const contrast = options.contrast ?? (trainedOn === 't1' || trainedOn === 't2' ? trainedOn : 't1');
  const train = phantomSet({ count: options.fitSubjects ?? 4, region, contrast, paired: true, seed: 1 });
  const fit = fitLinearMapping(train.a.map((a, i) => ({ source: a, target: train.b[i], mask: phantomBody(train.labels[i]) })));
  const n = options.subjects ?? 3;
  const test = phantomSet({ count: n, region, contrast, paired: true, seed: HELD_OUT_SEED });
  const subjects: SubjectScore[] = [];
  for (let i = 0; i < n; i++) {
    const mr = test.a[i];
    const ct = test.b[i];
    const body = phantomBody(test.labels[i]);
    const synthetic = await translate(mr, translator);
    const baseline = applyLinearMapping(mr, fit, { modality: 'CT', units: 'HU' });
    const score = (v: Volume): { mae: number; ssim: number } => ({
      mae: intensityErrors(v, ct, { mask: body }).mae,
      ssim: ssim(v, ct, { mask: body, dataRange: CT_DATA_RANGE }).maskedSsim ?? Number.NaN,
    });
    const m = score(synthetic);
    const b = score(baseline);
    subjects.push({ seed: test.seeds.a[i], modelMae: m.mae, baselineMae: b.mae, modelSsim: m.ssim, baselineSsim: b.ssim });
    await options.onResult?.({ seed: test.seeds.a[i], mr, ct, synthetic, baseline, body });
    options.onSubject?.(i + 1, n);
  }
  const mean = (f: (s: SubjectScore) => number): number => subjects.reduce((a, s) => a + f(s), 0) / subjects.length;
  const modelMae = mean((s) => s.modelMae);
  const baselineMae = mean((s) => s.baselineMae);
  return {
    subjects,
    modelMae,
    baselineMae,
    modelSsim: mean((s) => s.modelSsim),
    baselineSsim: mean((s) => s.baselineSsim),
    improvement: baselineMae / modelMae,
    fit,
    seconds: (performance.now() - t0) / 1000,
  };
}
