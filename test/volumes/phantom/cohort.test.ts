import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { generateCohort, NO_SCANNER_EFFECTS, regeneratePhantom, type CohortSubject } from '../../../volumes/phantom/index.ts';
import { bytesEqual } from './phantom-helpers.ts';

const SHAPE = [32, 32, 24] as const;
const SITES = {
  a: NO_SCANNER_EFFECTS,
  b: { noiseSigma: 0.05, biasStrength: 0.2, scale: 2, offset: 15, gamma: 0.8 },
};

describe('generateCohort', () => {
  it('streams distinct subjects per site, subject-major, each reproducible from its history', () => {
    const it1 = generateCohort({ region: 'head', subjects: 2, seed: 8, sites: SITES, shape: SHAPE });
    const first = it1.next();
    expect(first.done).toBe(false);
    const all: CohortSubject[] = [first.value as CohortSubject, ...it1];
    expect(all.map((s) => [s.site, s.subjectIndex, s.subjectId])).toEqual([
      ['a', 0, 'a-0'],
      ['b', 0, 'b-0'],
      ['a', 1, 'a-1'],
      ['b', 1, 'b-1'],
    ]);
    // Distinct design: different anatomy everywhere.
    expect(bytesEqual(all[0].labels.data, all[1].labels.data)).toBe(false);
    expect(bytesEqual(all[0].labels.data, all[2].labels.data)).toBe(false);
    // The site's effects are in params and history, and regenerate the same bytes.
    expect(all[1].params.scanner).toMatchObject(SITES.b);
    expect(all[1].t1.history[0].params).toMatchObject({ scanner: SITES.b });
    const again = regeneratePhantom(all[3].t2.history[0]);
    expect(bytesEqual(again.t2.data, all[3].t2.data)).toBe(true);
    expect(bytesEqual(again.labels.data, all[3].labels.data)).toBe(true);
    // Same options, same cohort.
    const repeat = [...generateCohort({ region: 'head', subjects: 2, seed: 8, sites: SITES, shape: SHAPE })];
    repeat.forEach((s, i) => expect(bytesEqual(s.t1.data, all[i].t1.data)).toBe(true));
  });

  it('travelling design scans the same anatomy at every site with different scanner effects', () => {
    const all = [...generateCohort({ region: 'pelvis', subjects: 1, seed: 3, sites: SITES, shape: SHAPE, design: 'travelling' })];
    expect(all.map((s) => s.subjectId)).toEqual(['subject-0', 'subject-0']);
    expect(bytesEqual(all[0].labels.data, all[1].labels.data)).toBe(true);
    expect(bytesEqual(all[0].ct.data, all[1].ct.data)).toBe(true);
    expect(bytesEqual(all[0].t1.data, all[1].t1.data)).toBe(false);
    expect(all[0].params.scanner.noiseSigma).toBe(0);
    expect(all[1].params.scanner.noiseSigma).toBe(0.05);
    // Each site's MR still regenerates exactly from its own history entry.
    for (const s of all) expect(bytesEqual(regeneratePhantom(s.t1.history[0]).t1.data, s.t1.data)).toBe(true);
  });

  it('validates eagerly, before the first subject is rendered', () => {
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return isVoxshiftError(e) ? `${e.shortCode}:${e.param}` : 'other';
      }
      return undefined;
    };
    const ok = { region: 'head' as const, subjects: 1, seed: 1, sites: SITES, shape: SHAPE };
    expect(codeOf(() => generateCohort({ ...ok, sites: {} }))).toBe('INVALID_ARGUMENT:sites');
    expect(codeOf(() => generateCohort({ ...ok, subjects: 0 }))).toBe('INVALID_ARGUMENT:subjects');
    expect(codeOf(() => generateCohort({ ...ok, seed: 0.5 }))).toBe('INVALID_ARGUMENT:seed');
    expect(codeOf(() => generateCohort({ ...ok, design: 'crossover' as never }))).toBe('INVALID_ARGUMENT:design');
    expect(codeOf(() => generateCohort({ ...ok, sites: { x: { gamma: -1 } } }))).toBe('INVALID_ARGUMENT:sites.x.gamma');
    expect(codeOf(() => generateCohort({ ...ok, region: 'knee' as never }))).toBe('INVALID_ARGUMENT:region');
  });
});
