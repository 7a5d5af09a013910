/**
 * The built-in multi-site cohort for harmonisation tests, demos and `voxshift harmonize report
 * --phantom-sites`: head phantoms (volumes/phantom) scanned at three simulated sites that differ in
 * contrast curve, intensity scale/offset, bias field, noise and resolution. Each site scans its own
 * subjects (unpaired, like real multi-site data); every subject keeps its ground-truth label map.
 *
 * | site  | contrast                         | scale, offset | bias (strength, scale) | noise | resolution |
 * |-------|----------------------------------|---------------|------------------------|-------|------------|
 * | siteA | linear (the reference)           | 1, 0          | 0.10, 150 mm           | 2 %   | native     |
 * | siteB | gamma 0.75                       | 2.4, +50      | 0.15, 100 mm           | 3 %   | 1.5 mm FWHM blur |
 * | siteC | curve compressing bright tissue  | 0.55, −5      | 0.12, 200 mm           | 2.5 % | 4 mm FWHM through-plane blur |
 *
 * Contrast and scale differ strongly (what intensity harmonisation is for); bias, noise and
 * resolution differ moderately — no intensity map can undo blur or noise, and with stronger
 * differences (e.g. 8 mm slabs) the tissue boundaries themselves move, so the anatomy check would
 * measure the simulation rather than the harmonizer.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import { generateCohort, type ScannerEffects } from '../volumes/phantom/index.ts';
import type { Volume } from '../volumes/volume.ts';

export const PHANTOM_SITES: Readonly<Record<string, Partial<ScannerEffects>>> = Object.freeze({
  siteA: { biasStrength: 0.1, biasScaleMm: 150, noiseSigma: 0.02 },
  siteB: { gamma: 0.75, scale: 2.4, offset: 50, biasStrength: 0.15, biasScaleMm: 100, noiseSigma: 0.03, blurFwhmMm: 1.5 },
  siteC: {
    contrastCurve: [
      [0, 0],
      [0.4, 0.55],
      [1, 1],
      [2.5, 1.8],
    ],
    scale: 0.55,
    offset: -5,
    biasStrength: 0.12,
    biasScaleMm: 200,
    noiseSigma: 0.025,
    blurFwhmMm: [0, 0, 4],
  },
});

/**
 * A harsher variant with the spread real multi-site T1w shows: uncorrected 3 T bias (±20–35 %),
 * SNR from ~50 down to ~20 (noise 2–5 % of white matter: 1.5 T and parallel imaging against 3 T),
 * a 2 mm point spread at one site and 6 mm thick slices (clinical 2D T1) at another. The contrast
 * curves, scales and offsets are those of PHANTOM_SITES. bench/harmonize.ts --sites realistic.
 */
export const PHANTOM_SITES_REALISTIC: Readonly<Record<string, Partial<ScannerEffects>>> = Object.freeze({
  siteA: { biasStrength: 0.2, biasScaleMm: 150, noiseSigma: 0.02 },
  siteB: { ...PHANTOM_SITES.siteB, biasStrength: 0.35, biasScaleMm: 100, noiseSigma: 0.05, blurFwhmMm: 2 },
  siteC: { ...PHANTOM_SITES.siteC, biasStrength: 0.15, biasScaleMm: 200, noiseSigma: 0.035, blurFwhmMm: 0, sliceThicknessMm: 6, sliceAxis: 2 },
});

export const PHANTOM_REFERENCE_SITE = 'siteA';

/** A small grid (3.2 × 3.2 × 4 mm over the head's field of view) that keeps cohorts fast. */
export const PHANTOM_SITE_SHAPE: readonly [number, number, number] = [64, 64, 48];

export interface PhantomSiteSubject {
  site: string;
  subjectId: string;
  /** T1w (or T2w) as scanned at the site. */
  image: Volume;
  /** Ground-truth tissue labels (volumes/phantom TISSUE ids) on the same grid. */
  labels: Volume;
}

export interface PhantomSiteOptions {
  /** Subjects per site. */
  subjects: number;
  seed?: number;
  shape?: readonly number[];
  sites?: Readonly<Record<string, Partial<ScannerEffects>>>;
  contrast?: 't1' | 't2';
  onSubject?: (done: number, total: number) => void;
}

/** Renders the cohort (subject-major: subject 0 of every site, then subject 1...). */
export function phantomSiteCohort(options: PhantomSiteOptions): PhantomSiteSubject[] {
  const contrast = options.contrast ?? 't1';
  if (contrast !== 't1' && contrast !== 't2') {
    throw new VoxshiftError('INVALID_ARGUMENT', `contrast must be 't1' or 't2', got ${JSON.stringify(contrast)}`, { param: 'contrast' });
  }
  const sites = options.sites ?? PHANTOM_SITES;
  const out: PhantomSiteSubject[] = [];
  const total = options.subjects * Object.keys(sites).length;
  const cohort = generateCohort({
    region: 'head',
    subjects: options.subjects,
    seed: options.seed ?? 1,
    sites: sites as Record<string, Partial<ScannerEffects>>,
    shape: options.shape ?? PHANTOM_SITE_SHAPE,
  });
  for (const s of cohort) {
    const image = contrast === 't1' ? s.t1 : s.t2;
    out.push({ site: s.site, subjectId: s.subjectId, image, labels: s.labels });
    options.onSubject?.(out.length, total);
  }
  return out;
}
