/**
 * Writes the ComBat test table test/fixtures/reference/combat-input.json: per-tissue mean T1
 * intensity and volume of small phantom subjects from the three simulated sites (harmonize/
 * phantom-sites.ts), a numeric covariate (head volume, ml) and a categorical one (group, with a
 * simulated −4 % white-matter intensity effect in patients that ComBat must keep). 8 training and
 * 3 held-out subjects per site.
 *
 *   npx tsx bench/harmonize-combat-table.ts            # then: /usr/bin/python3 bench/combat_reference.py
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { phantomSiteCohort } from '../harmonize/phantom-sites.ts';
import { regionFeatures } from '../harmonize/region-features.ts';
import type { FeatureTable } from '../harmonize/feature-table.ts';

const REGIONS = { 2: 'fat', 3: 'soft', 4: 'gm', 5: 'wm', 6: 'csf', 8: 'marrow' } as const;
const TRAIN = 8;
const HELD_OUT = 3;

const cohort = phantomSiteCohort({ subjects: TRAIN + HELD_OUT, seed: 2024, shape: [48, 48, 32] });
const empty = (): FeatureTable => ({ subjects: [], sites: [], features: [], values: [], covariates: { headMl: [] as number[], group: [] as string[] } });
const train = empty();
const heldOut = empty();
for (const s of cohort) {
  const index = Number(s.subjectId.split('-').pop());
  const f = regionFeatures(s.image, s.labels, REGIONS, s.subjectId);
  let body = 0;
  for (let p = 0; p < s.labels.data.length; p++) if (s.labels.data[p] !== 0) body++;
  const group = index % 2 === 0 ? 'control' : 'patient';
  if (group === 'patient') f.wm_mean *= 0.96;
  const t = index < TRAIN ? train : heldOut;
  t.features = Object.keys(f);
  t.subjects.push(s.subjectId);
  t.sites.push(s.site);
  t.values.push(t.features.map((k) => f[k]));
  (t.covariates.headMl as number[]).push((body * s.image.spacing[0] * s.image.spacing[1] * s.image.spacing[2]) / 1000);
  (t.covariates.group as string[]).push(group);
}
const out = join(import.meta.dirname, '..', 'test', 'fixtures', 'reference', 'combat-input.json');
writeFileSync(out, `${JSON.stringify({ description: 'phantom tissue features of 3 simulated sites; see bench/harmonize-combat-table.ts', train, heldOut }, null, 1)}\n`);
console.log(`wrote ${out}: ${train.subjects.length} training and ${heldOut.subjects.length} held-out subjects, ${train.features.length} features`);
