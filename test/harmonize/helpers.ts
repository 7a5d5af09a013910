/**
 * Test helper: a small 3-site phantom cohort (harmonize/phantom-sites.ts on a 32×32×24 grid, built
 * once per test file), the same volumes grouped by site, and a volume re-gridded with anisotropic
 * spacing and a tilted direction for geometry checks.
 */
import { phantomSiteCohort, type PhantomSiteSubject } from '../../harmonize/phantom-sites.ts';
import type { SiteVolumes } from '../../harmonize/sites.ts';
import { createVolume, type Volume } from '../../volumes/volume.ts';

export const SMALL_SHAPE = [32, 32, 24] as const;

let cached: PhantomSiteSubject[] | undefined;

/** 3 subjects per site (siteA, siteB, siteC), subject-major order. */
export function smallCohort(): PhantomSiteSubject[] {
  cached ??= phantomSiteCohort({ subjects: 3, seed: 11, shape: SMALL_SHAPE });
  return cached;
}

/** The first `perSite` subjects of each site as fit input. */
export function siteVolumes(perSite = 2): SiteVolumes {
  const out: Record<string, Volume[]> = {};
  for (const s of smallCohort()) {
    const list = (out[s.site] ??= []);
    if (list.length < perSite) list.push(s.image);
  }
  return out;
}

/** A held-out subject (the last one) of `site`. */
export function heldOut(site: string): PhantomSiteSubject {
  const list = smallCohort().filter((s) => s.site === site);
  return list[list.length - 1];
}

const c = Math.cos(0.3);
const s = Math.sin(0.3);

/** The same voxels on an anisotropic, tilted grid with an offset origin and some history. */
export function tilted(vol: Volume): Volume {
  return createVolume({
    data: Float32Array.from(vol.data),
    shape: vol.shape,
    spacing: [0.9, 1.3, 2.7],
    origin: [-12.5, 40.25, 7],
    direction: [c, -s, 0, s, c, 0, 0, 0, 1],
    modality: 'MR',
    meta: { ...vol.meta, source: 'tilted.nii.gz' },
    history: [{ op: 'read', params: { path: 'tilted.nii.gz' } }],
  });
}
