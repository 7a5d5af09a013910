/**
 * generateCohort: a stream of phantom subjects scanned at several simulated sites, one subject at a
 * time (memory stays bounded by one subject), each with its ground-truth labels and CT.
 */
import { VoxshiftError } from '../errors.ts';
import type { Shape3, Vec3 } from '../volume.ts';
import {
  assemblePhantom,
  renderPhantom,
  resolvePhantomOptions,
  type Phantom,
  type PhantomRecipe,
  type PhantomRegion,
} from './generate-phantom.ts';
import { resolveScannerEffects, type ScannerEffects } from './scanner-effects.ts';
import { checkSeed, deriveSeed } from './seeds.ts';
import type { FieldStrength } from './tissues.ts';

export interface CohortOptions {
  region: PhantomRegion;
  /** Subjects per site. */
  subjects: number;
  seed: number;
  /** Site name → its scanner effects (merged over DEFAULT_SCANNER_EFFECTS). */
  sites: Record<string, Partial<ScannerEffects>>;
  shape?: Shape3 | readonly number[];
  spacing?: Vec3 | readonly number[];
  variation?: number;
  fieldStrength?: FieldStrength;
  /**
   * 'distinct' (default): every site scans its own subjects (unpaired, like real multi-site data).
   * 'travelling': the same subjects are scanned at every site (paired ground truth for harmonisation);
   * their labels and CT arrays are then shared between the sites' yields.
   */
  design?: 'distinct' | 'travelling';
}

export interface CohortSubject extends Phantom {
  site: string;
  /** 0-based index of the subject within its site. */
  subjectIndex: number;
  /** Stable id: `<site>-<index>` (distinct design) or `subject-<index>` (travelling design). */
  subjectId: string;
}

const MAX_SUBJECTS = 100_000;

/** Validates the options, then returns an iterator that renders subjects on demand (subject-major, then sites in key order). */
export function generateCohort(options: CohortOptions): Generator<CohortSubject, void, undefined> {
  if (typeof options !== 'object' || options === null) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'cohort options must be an object', { param: 'options' });
  }
  const seed = checkSeed(options.seed, 'seed');
  const { subjects } = options;
  if (!Number.isInteger(subjects) || subjects < 1 || subjects > MAX_SUBJECTS) {
    throw new VoxshiftError('INVALID_ARGUMENT', `subjects must be an integer in [1, ${MAX_SUBJECTS}], got ${JSON.stringify(subjects)}`, {
      param: 'subjects',
    });
  }
  const design = options.design ?? 'distinct';
  if (design !== 'distinct' && design !== 'travelling') {
    throw new VoxshiftError('INVALID_ARGUMENT', `design must be 'distinct' or 'travelling', got ${JSON.stringify(design)}`, { param: 'design' });
  }
  const sites = options.sites;
  if (typeof sites !== 'object' || sites === null || Array.isArray(sites) || Object.keys(sites).length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'sites must be a non-empty object of site name → scanner effects', { param: 'sites' });
  }
  const siteEffects = Object.entries(sites).map(([name, e]) => [name, resolveScannerEffects(e, `sites.${name}`)] as const);
  const base = { region: options.region, shape: options.shape, spacing: options.spacing, variation: options.variation, fieldStrength: options.fieldStrength };
  // Fail now, not at the first next(), on bad region/shape/...
  resolvePhantomOptions({ ...base, seed });

  const recipeFor = (subjectSeed: number, site: string, i: number, scanner: ScannerEffects): PhantomRecipe =>
    resolvePhantomOptions({ ...base, seed: subjectSeed, scanner, scannerSeed: deriveSeed(seed, 'scanner', site, i) });

  return (function* () {
    for (let i = 0; i < subjects; i++) {
      if (design === 'travelling') {
        const subjectSeed = deriveSeed(seed, 'subject', i);
        const rendered = renderPhantom(recipeFor(subjectSeed, siteEffects[0][0], i, siteEffects[0][1]));
        for (const [site, scanner] of siteEffects) {
          const recipe = recipeFor(subjectSeed, site, i, scanner);
          yield { ...assemblePhantom(rendered, recipe), site, subjectIndex: i, subjectId: `subject-${i}` };
        }
      } else {
        for (const [site, scanner] of siteEffects) {
          const recipe = recipeFor(deriveSeed(seed, 'subject', site, i), site, i, scanner);
          yield { ...assemblePhantom(renderPhantom(recipe), recipe), site, subjectIndex: i, subjectId: `${site}-${i}` };
        }
      }
    }
  })();
}
