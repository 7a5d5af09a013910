/**
 * Scores a dataset one case at a time without keeping volumes: `add` computes the chosen metrics of
 * one prediction/reference pair and keeps only the numbers; `aggregate` gives the per-case rows and,
 * per metric, mean, population standard deviation, median, min and max over the cases where the
 * metric is defined (NaN values, e.g. NCC of a constant image, are left out and `count` says how
 * many cases were used); `reset` forgets every case.
 *
 * The mask of a case is `mask` when given, 'none' for every voxel, or by default the body mask of
 * the reference (validation/masks.ts), computed once per case. With `labels`, per-tissue MAE is
 * added as `mae:<label>` (or `mae:<name>`). With `segmentation` (two label maps on the images'
 * grid), Dice and HD95 per label are added as `dice:<label>` and `hd95:<label>`; an HD95 of
 * Infinity (label missing from one map) is kept, so that label's mean is Infinity, while its
 * median stays informative.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume } from '../../volumes/volume.ts';
import { bodyMask } from '../masks.ts';
import { checkMaskNotEmpty, checkPair } from './check-inputs.ts';
import { checkDataRange } from './data-range.ts';
import type { DataRange } from './data-range.ts';
import { dicePerLabel } from './dice.ts';
import { surfaceDistancesPerLabel } from './hausdorff.ts';
import { intensityErrors } from './intensity-errors.ts';
import { msSsim } from './ms-ssim.ts';
import { ncc } from './ncc.ts';
import { psnr } from './psnr.ts';
import type { MaskOption } from './resolve-mask.ts';
import { ssim } from './ssim.ts';
import type { SsimWindowOptions } from './ssim-map.ts';
import { tissueMae } from './tissue-mae.ts';

export type MetricName = 'mae' | 'meanError' | 'rmse' | 'psnr' | 'ssim' | 'maskedSsim' | 'msSsim' | 'ncc';

export const DEFAULT_METRICS: readonly MetricName[] = ['mae', 'meanError', 'rmse', 'psnr', 'ssim', 'maskedSsim', 'ncc'];
const ALL_METRICS: readonly MetricName[] = [...DEFAULT_METRICS, 'msSsim'];

export interface MetricAccumulatorOptions {
  /** PSNR/SSIM window; default [−1024, 3000] (HU). */
  dataRange?: DataRange;
  metrics?: readonly MetricName[];
  ssim?: SsimWindowOptions;
}

export interface CaseOptions {
  /** Case name in the rows; default `case-<n>`. */
  id?: string;
  mask?: MaskOption;
  labels?: Volume;
  labelNames?: Readonly<Record<number, string>>;
  /** Label maps to score with Dice and HD95 (e.g. segmentations of the synthetic and real CT). */
  segmentation?: { pred: Volume; ref: Volume; labels?: readonly number[] };
}

export interface CaseRow {
  id: string;
  /** Voxels in the mask. */
  voxels: number;
  values: Record<string, number>;
}

export interface MetricSummary {
  mean: number;
  std: number;
  median: number;
  min: number;
  max: number;
  count: number;
}

export interface MetricAggregate {
  cases: CaseRow[];
  summary: Record<string, MetricSummary>;
}

function summarize(values: number[]): MetricSummary {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, median: NaN, min: NaN, max: NaN, count: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const std = Number.isFinite(mean) ? Math.sqrt(v.reduce((s, x) => s + (x - mean) * (x - mean), 0) / n) : NaN;
  const median = n % 2 === 1 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { mean, std, median, min: v[0], max: v[n - 1], count: n };
}

export class MetricAccumulator {
  private readonly rows: CaseRow[] = [];
  private readonly range: DataRange;
  private readonly metrics: readonly MetricName[];
  private readonly ssimOptions: SsimWindowOptions;

  constructor(options: MetricAccumulatorOptions = {}) {
    this.range = checkDataRange(options.dataRange);
    this.metrics = options.metrics ?? DEFAULT_METRICS;
    for (const m of this.metrics) {
      if (!ALL_METRICS.includes(m)) {
        throw new VoxshiftError('INVALID_ARGUMENT', `unknown metric ${JSON.stringify(m)}; known: ${ALL_METRICS.join(', ')}`, {
          param: 'metrics',
        });
      }
    }
    this.ssimOptions = options.ssim ?? {};
  }

  /** Scores one case and keeps its row (also returned). */
  add(pred: Volume, ref: Volume, options: CaseOptions = {}): CaseRow {
    checkPair(pred, ref);
    let mask: Volume | 'none';
    if (options.mask === 'none') mask = 'none';
    else if (options.mask === undefined || options.mask === 'body') mask = bodyMask(ref);
    else mask = options.mask;
    const voxels = mask === 'none' ? ref.data.length : checkMaskNotEmpty(mask.data, options.mask === undefined || options.mask === 'body' ? 'mask (the body mask of ref)' : 'mask');
    const want = new Set(this.metrics);
    const values: Record<string, number> = {};
    if (want.has('mae') || want.has('meanError') || want.has('rmse')) {
      const e = intensityErrors(pred, ref, { mask });
      if (want.has('mae')) values.mae = e.mae;
      if (want.has('meanError')) values.meanError = e.meanError;
      if (want.has('rmse')) values.rmse = e.rmse;
    }
    if (want.has('psnr')) values.psnr = psnr(pred, ref, { mask, dataRange: this.range });
    if (want.has('ssim') || want.has('maskedSsim')) {
      const s = ssim(pred, ref, { ...this.ssimOptions, mask: want.has('maskedSsim') ? mask : 'none', dataRange: this.range });
      if (want.has('ssim')) values.ssim = s.ssim;
      if (want.has('maskedSsim')) values.maskedSsim = s.maskedSsim ?? s.ssim;
    }
    if (want.has('msSsim')) values.msSsim = msSsim(pred, ref, { ...this.ssimOptions, dataRange: this.range });
    if (want.has('ncc')) values.ncc = ncc(pred, ref, { mask });
    if (options.labels) {
      const rows = tissueMae(pred, ref, options.labels, { mask: mask === 'none' ? undefined : mask, names: options.labelNames });
      for (const t of rows) values[`mae:${t.name ?? t.label}`] = t.mae;
    }
    if (options.segmentation) {
      const { pred: sp, ref: sr, labels } = options.segmentation;
      checkPair(sp, ref);
      const d = dicePerLabel(sp, sr, labels);
      const h = surfaceDistancesPerLabel(sp, sr, { labels: [...d.keys()] });
      for (const [l, v] of d) {
        values[`dice:${options.labelNames?.[l] ?? l}`] = v;
        values[`hd95:${options.labelNames?.[l] ?? l}`] = (h.get(l) as { hd95: number }).hd95;
      }
    }
    const row: CaseRow = { id: options.id ?? `case-${this.rows.length + 1}`, voxels, values };
    this.rows.push(row);
    return row;
  }

  get size(): number {
    return this.rows.length;
  }

  aggregate(): MetricAggregate {
    const keys: string[] = [];
    for (const r of this.rows) for (const k of Object.keys(r.values)) if (!keys.includes(k)) keys.push(k);
    const summary: Record<string, MetricSummary> = {};
    for (const k of keys) summary[k] = summarize(this.rows.filter((r) => k in r.values).map((r) => r.values[k]));
    return { cases: this.rows.map((r) => ({ ...r, values: { ...r.values } })), summary };
  }

  reset(): void {
    this.rows.length = 0;
  }
}
