/**
 * The phantom's tissue labels (stable ids: never renumber, only append) and their default physical
 * properties: CT attenuation in HU (default and the range per-subject values are drawn from), and the
 * MR relaxation times T1/T2 (ms) and proton density PD (relative to water) at 1.5 T and 3 T.
 *
 * MR values are rounded literature values: Stanisz et al., MRM 54:507 (2005) for white/grey matter
 * and muscle; Gold et al., AJR 183:343 (2004) and Bojorquez et al., MRI 35:69 (2017) for fat;
 * CSF/urine/vitreous ≈ free water. Trabecular bone is modelled as mixed (fatty) marrow: on T1w it is
 * brighter than muscle, like fat, although its HU is +200..+400 — and cortical bone (T2 < 1 ms) and
 * air are both black on spin-echo MR while they are 2000+ HU apart on CT. These two ambiguities are
 * what makes MR→CT synthesis non-trivial on this phantom.
 */

export const TISSUE = {
  AIR: 0,
  AIR_CAVITY: 1,
  FAT: 2,
  SOFT_TISSUE: 3,
  GREY_MATTER: 4,
  WHITE_MATTER: 5,
  CSF: 6,
  CORTICAL_BONE: 7,
  TRABECULAR_BONE: 8,
  FLUID: 9,
} as const;

export type TissueId = (typeof TISSUE)[keyof typeof TISSUE];

export interface Relaxation {
  /** Longitudinal relaxation time, ms. */
  t1: number;
  /** Transverse relaxation time, ms. */
  t2: number;
  /** Proton density relative to pure water. */
  pd: number;
}

export interface TissueInfo {
  id: TissueId;
  name: string;
  description: string;
  /** Mean HU of a typical subject and the range per-subject means are drawn from. */
  hu: number;
  huRange: readonly [number, number];
  /** Amplitude (HU) of the smooth coarse (~20 mm) and fine (~4 mm) texture around the mean. */
  huTexture: readonly [number, number];
  /** Relative amplitude of the MR texture (coarse, fine); a negative fine term anti-correlates with HU. */
  mrTexture: readonly [number, number];
  mr: { '1.5T': Relaxation; '3T': Relaxation };
}

export const TISSUES: readonly TissueInfo[] = [
  {
    id: 0, name: 'air', description: 'background air outside the body',
    hu: -1000, huRange: [-1000, -1000], huTexture: [0, 0], mrTexture: [0, 0],
    mr: { '1.5T': { t1: 1, t2: 1, pd: 0 }, '3T': { t1: 1, t2: 1, pd: 0 } },
  },
  {
    id: 1, name: 'air-cavity', description: 'air inside the body: paranasal sinuses and airways (head), bowel and rectal gas (pelvis)',
    hu: -930, huRange: [-980, -880], huTexture: [25, 0], mrTexture: [0, 0],
    mr: { '1.5T': { t1: 1, t2: 1, pd: 0 }, '3T': { t1: 1, t2: 1, pd: 0 } },
  },
  {
    id: 2, name: 'fat', description: 'subcutaneous, orbital and visceral fat',
    hu: -100, huRange: [-120, -80], huTexture: [8, 4], mrTexture: [0.03, 0.02],
    mr: { '1.5T': { t1: 260, t2: 80, pd: 0.9 }, '3T': { t1: 380, t2: 68, pd: 0.9 } },
  },
  {
    id: 3, name: 'soft-tissue', description: 'muscle, skin and other non-fat soft tissue (bladder and bowel walls, cartilage)',
    hu: 45, huRange: [35, 55], huTexture: [6, 4], mrTexture: [0.04, 0.02],
    mr: { '1.5T': { t1: 1008, t2: 44, pd: 0.72 }, '3T': { t1: 1412, t2: 50, pd: 0.72 } },
  },
  {
    id: 4, name: 'grey-matter', description: 'cortical and deep grey matter',
    hu: 40, huRange: [35, 45], huTexture: [3, 2], mrTexture: [0.03, 0.02],
    mr: { '1.5T': { t1: 1124, t2: 95, pd: 0.8 }, '3T': { t1: 1820, t2: 99, pd: 0.8 } },
  },
  {
    id: 5, name: 'white-matter', description: 'cerebral white matter and spinal cord',
    hu: 26, huRange: [22, 30], huTexture: [3, 2], mrTexture: [0.03, 0.015],
    mr: { '1.5T': { t1: 884, t2: 72, pd: 0.69 }, '3T': { t1: 1084, t2: 69, pd: 0.69 } },
  },
  {
    id: 6, name: 'csf', description: 'cerebrospinal fluid: subarachnoid space, sulci, ventricles, spinal canal',
    hu: 8, huRange: [4, 12], huTexture: [2, 1], mrTexture: [0.01, 0.005],
    mr: { '1.5T': { t1: 4000, t2: 2000, pd: 1 }, '3T': { t1: 4200, t2: 1800, pd: 1 } },
  },
  {
    id: 7, name: 'cortical-bone', description: 'compact bone: skull tables, bone cortex, sinus walls',
    hu: 1350, huRange: [1100, 1600], huTexture: [150, 100], mrTexture: [0, 0],
    mr: { '1.5T': { t1: 200, t2: 0.5, pd: 0.15 }, '3T': { t1: 250, t2: 0.4, pd: 0.15 } },
  },
  {
    id: 8, name: 'trabecular-bone', description: 'cancellous bone with fatty marrow: diploë, skull base, vertebral bodies, pelvis and femoral heads',
    hu: 300, huRange: [220, 380], huTexture: [50, 60], mrTexture: [0.05, -0.15],
    mr: { '1.5T': { t1: 450, t2: 55, pd: 0.55 }, '3T': { t1: 550, t2: 50, pd: 0.55 } },
  },
  {
    id: 9, name: 'fluid', description: 'free fluid outside the CSF spaces: urine in the bladder, vitreous of the eyes',
    hu: 8, huRange: [0, 15], huTexture: [2, 1], mrTexture: [0.01, 0.005],
    mr: { '1.5T': { t1: 3000, t2: 1500, pd: 0.98 }, '3T': { t1: 3600, t2: 1400, pd: 0.98 } },
  },
];

export const TISSUE_COUNT = TISSUES.length;

export type FieldStrength = '1.5T' | '3T';
