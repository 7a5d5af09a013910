/**
 * The one segmenter interface of the validation checks, and the shared tissue classes that both CT
 * and MR can show, so a segmentation of the source MR and one of the synthetic CT can be compared.
 *
 * | id | class   | CT (ct-segmenter.ts)                          | MR (mr-segmenter.ts)                                  |
 * |----|---------|-----------------------------------------------|-------------------------------------------------------|
 * | 0  | outside | outside the body mask                          | outside the body mask                                  |
 * | 1  | dark    | air inside the body (cavities, bowel gas, lung) | signal void: air **or dense bone** (MR cannot tell them apart) |
 * | 2  | fat     | −190..−30 HU                                   | the brightest T1 mode; the bright non-fluid T2 mode    |
 * | 3  | soft    | −30..150 HU: muscle, organs, brain, (fluid)    | intermediate modes: muscle, organs, grey/white matter (and fatty marrow) |
 * | 4  | fluid   | only with `fluidHu` (CT separates water from soft tissue poorly) | CSF, urine, vitreous: dark-grey on T1, brightest on T2 |
 * | 5  | bone    | dense (cortical) bone, ≥ 800 HU by default      | — (shows as dark)                                     |
 * | 6  | marrow  | cancellous bone, 150..800 HU by default         | — (fatty marrow looks like fat or soft tissue)        |
 *
 * Two segmentations are compared through `comparableMapping(classesA, classesB)`, which maps each
 * side onto the classes both can show (a class only one side has is merged or ignored):
 * - bone (5) on one side only → dark (1): MR's signal void is air ∪ dense bone, so CT {air ∪ bone}
 *   is compared with MR "dark";
 * - marrow (6) on one side only → ignored (neither hallucinated nor removed): cancellous bone is
 *   +150..+800 HU on CT but, being fatty, looks like fat or soft tissue on MR;
 * - fluid (4) on one side only → soft (3): CT cannot separate water from soft tissue well;
 * - fat (2) on one side only → soft (3) (e.g. a brain T2 segmenter that leaves fat out, since fat
 *   and grey matter are equally bright on T2);
 * - dark (1) on one side only → ignored; any other class only one side has → ignored.
 * Voxels where either side maps to IGNORE take no part in Dice, volumes or findings.
 */
import type { Volume } from '../../volumes/volume.ts';

export const SHARED_CLASS = {
  OUTSIDE: 0,
  DARK: 1,
  FAT: 2,
  SOFT: 3,
  FLUID: 4,
  BONE: 5,
  MARROW: 6,
} as const;

export type SharedClass = (typeof SHARED_CLASS)[keyof typeof SHARED_CLASS];

export const SHARED_CLASS_NAMES: Readonly<Record<SharedClass, string>> = {
  0: 'outside',
  1: 'dark',
  2: 'fat',
  3: 'soft',
  4: 'fluid',
  5: 'bone',
  6: 'marrow',
};

export const SHARED_CLASS_COUNT = 7;

export interface SegmentOptions {
  /** A body mask (non-zero inside) on the volume's grid; default: the segmenter computes one. */
  body?: Volume;
}

export interface Segmenter {
  name: string;
  /** The shared classes this segmenter can output (always including 0, outside). */
  classes: readonly SharedClass[];
  /** A label map on the volume's grid whose values are SharedClass ids. */
  segment(volume: Volume, options?: SegmentOptions): Volume<Uint8Array>;
}

/** Marks a label value that takes no part in a comparison. */
export const IGNORE = 255;

export interface ComparableMapping {
  /** The comparable classes (0 first), those both sides can show after merging. */
  classes: SharedClass[];
  /** Lookup tables label → comparable class (or IGNORE), 256 entries each. */
  mapA: Uint8Array;
  mapB: Uint8Array;
  /** How each side's classes were mapped, for the report. */
  rules: string[];
}

function has(list: readonly SharedClass[], c: SharedClass): boolean {
  return list.includes(c);
}

/** See the file comment: how two segmenters' class sets are made comparable. */
export function comparableMapping(classesA: readonly SharedClass[], classesB: readonly SharedClass[]): ComparableMapping {
  const mapA = new Uint8Array(256).fill(IGNORE);
  const mapB = new Uint8Array(256).fill(IGNORE);
  const rules: string[] = [];
  const common = new Set<SharedClass>([SHARED_CLASS.OUTSIDE]);
  for (const c of classesA) if (has(classesB, c)) common.add(c);
  for (const c of common) {
    mapA[c] = c;
    mapB[c] = c;
  }
  const sides: [readonly SharedClass[], readonly SharedClass[], Uint8Array, string][] = [
    [classesA, classesB, mapA, 'A'],
    [classesB, classesA, mapB, 'B'],
  ];
  for (const [own, other, map, side] of sides) {
    for (const c of own) {
      if (common.has(c)) continue;
      let to: number = IGNORE;
      if (c === SHARED_CLASS.BONE && has(other, SHARED_CLASS.DARK)) to = SHARED_CLASS.DARK;
      else if ((c === SHARED_CLASS.FLUID || c === SHARED_CLASS.FAT) && has(other, SHARED_CLASS.SOFT)) to = SHARED_CLASS.SOFT;
      map[c] = to;
      rules.push(`${side}: ${SHARED_CLASS_NAMES[c]} → ${to === IGNORE ? 'ignored' : SHARED_CLASS_NAMES[to as SharedClass]}`);
    }
  }
  return { classes: [...common].sort((a, b) => a - b), mapA, mapB, rules };
}
