/**
 * # Digital phantoms — voxshift's built-in data
 *
 * Seeded, resolution-independent head and pelvis subjects with ground truth: a tissue label map,
 * CT in HU, and spin-echo T1w/T2w MR, all on one grid. Demos, tests and benchmarks use them when no
 * real data is given (MR→CT synthesis, harmonisation site simulation, augmentation, validation).
 *
 * ```ts
 * const { labels, ct, t1, t2, params } = generatePhantom({ region: 'head', seed: 7 });
 * const again = regeneratePhantom(t1.history[0]); // bit-identical
 * const siteB = applyScannerEffects(t1, randomSiteEffects(3), 99); // another scanner, same subject
 * for (const s of generateCohort({ region: 'head', subjects: 10, seed: 1, sites: { a: {}, b: { gamma: 0.8, scale: 2 } } })) {
 *   // s.site, s.subjectId, s.labels, s.ct, s.t1, s.t2 — one subject in memory at a time
 * }
 * ```
 *
 * ## Tissues (label ids are stable; see `TISSUES` for all defaults)
 *
 * | id | name            | CT HU (per-subject range) | notes                                              |
 * |----|-----------------|---------------------------|----------------------------------------------------|
 * | 0  | air             | −1000                     | background                                         |
 * | 1  | air-cavity      | −980..−880                | sinuses/airways (head), bowel and rectal gas (pelvis) |
 * | 2  | fat             | −120..−80                 | subcutaneous, orbital, visceral; femoral medulla   |
 * | 3  | soft-tissue     | 35..55                    | muscle, skin, organ walls, cartilage, discs         |
 * | 4  | grey-matter     | 35..45                    | folded cortex, deep nuclei                          |
 * | 5  | white-matter    | 22..30                    | cerebral WM, spinal cord                            |
 * | 6  | csf             | 4..12                     | subarachnoid space, sulci, ventricles, spinal canal |
 * | 7  | cortical-bone   | 1100..1600 (±250 texture) | skull tables, bone cortex, sinus walls              |
 * | 8  | trabecular-bone | 220..380 (±110 texture)   | diploë, skull base, vertebrae, pelvis, femoral heads |
 * | 9  | fluid           | 0..15                     | urine (bladder), vitreous (eyes)                    |
 *
 * No thorax/lung region is implemented; a lung label would be appended as id 10.
 *
 * ## Anatomy
 *
 * Implicit shapes in anatomical millimetres (ellipsoids, superellipses, capsules, layered shells
 * measured as radial depth under a smoothly deformed surface) — see head-anatomy.ts and
 * pelvis-anatomy.ts for the structure lists. Low-frequency deformation, layer thicknesses, cortical
 * folding (sulci = zero sets of a smooth random field) and tissue texture come from smooth random
 * fields (random values on a coarse grid in mm, smoothstep-trilinear interpolation), so the anatomy
 * does not depend on the grid: a finer grid renders the same subject. `variation` (0..1, default
 * 0.5) scales how far sizes, shapes, pose and tissue values deviate from the reference subject; the
 * folding and texture patterns always follow the seed. The pose (rotation ≤ 6°·variation per axis,
 * translation ≤ 4 mm·variation) moves the anatomy, never the grid: the grid is always centred on
 * world (0, 0, 0) with the requested spacing and direction (default identity, LPS).
 *
 * ## Intensities
 *
 * Labels are sampled at voxel centres. Voxels on a boundary are also sampled at 4 sub-voxel points;
 * their CT and MR values are the means over the 5 samples (partial volume). CT = tissue HU + smooth
 * coarse/fine texture + Gaussian noise (σ `ctNoiseHu`, default drawn from 10..20 HU).
 * MR = spin-echo signal S = PD·(1 − e^(−TR/T1))·e^(−TE/T2) × 1000 per tissue (T1/T2/PD at 1.5 T or
 * 3 T from tissues.ts, ±5 % per subject), times a small multiplicative texture. Default sequences:
 * 3 T T1w TR 600/TE 10 ms, T2w TR 5000/TE 100 ms; 1.5 T T1w 500/12, T2w 4000/100. Cortical bone
 * (T2 < 1 ms) and air are both black on MR but 2000+ HU apart on CT, and fatty trabecular bone is
 * T1-bright like fat: a global intensity map from T1 to HU cannot work, so MR→CT is non-trivial.
 *
 * ## Scanner effects (`ScannerEffects`, applied to T1w/T2w; also usable alone on any MR volume)
 *
 * In acquisition order: Gaussian blur (`blurFwhmMm`) and thick slices (`sliceThicknessMm` along
 * `sliceAxis`, averaged then linearly re-interpolated) → bias field exp(`biasStrength`·n), n a
 * smooth field with control points every `biasScaleMm` → Rician noise (σ = `noiseSigma` × the
 * white-matter signal) → contrast: u → u^`gamma` then the optional monotone `contrastCurve` on
 * u = v / WM signal → `scale`·v + `offset`. Defaults (DEFAULT_SCANNER_EFFECTS): bias 0.1 over
 * 150 mm, noise 0.02, nothing else. NO_SCANNER_EFFECTS gives clean MR.
 *
 * Gaussian noise (CT, and the two channels of the Rician MR noise) uses an inverse-CDF table sampler
 * (65536 equiprobable quantiles, tails cut at ±4.2σ) driven by mulberry32: fast and exact to
 * reproduce; its std is 1 by construction.
 *
 * ## Speed
 *
 * Shapes are evaluated per voxel centre with early exits (far air, deep white matter), coarse noise
 * fields are evaluated once per voxel and shared by its sub-samples. Measured on the 2-core dev
 * machine while heavily loaded (load average ~15): default 128×128×96 head, all four volumes,
 * ≈ 1.4–1.6 s of CPU time (5–7 s wall clock under that load); 160×120×64 pelvis ≈ 1.4 s CPU.
 *
 * ## Reproducibility
 *
 * Every output volume carries one history entry `{ op: 'phantom', params }` whose params are the
 * fully resolved options (region, shape, spacing, direction, seed, variation, pose limits,
 * fieldStrength, sequences, ctNoiseHu, scanner, scannerSeed) plus `version` and `output`;
 * `regeneratePhantom(entry)` rebuilds all four volumes bit for bit. Each random part uses its own
 * stream derived from the seed (seeds.ts), so changing e.g. the MR noise never moves the anatomy.
 * `params` of the result also holds everything sampled (anatomy, pose, per-tissue values, WM
 * reference signals, labels present). PHANTOM_VERSION changes whenever the same options would give
 * different voxels.
 */
export { TISSUE, TISSUES, TISSUE_COUNT } from './tissues.ts';
export type { FieldStrength, Relaxation, TissueId, TissueInfo } from './tissues.ts';
export { DEFAULT_SEQUENCES, SIGNAL_SCALE, spinEchoSignal } from './signal-model.ts';
export type { SpinEchoSequence, Weighting } from './signal-model.ts';
export {
  applyScannerEffects,
  DEFAULT_SCANNER_EFFECTS,
  NO_SCANNER_EFFECTS,
  randomSiteEffects,
  referenceIntensityOf,
  resolveScannerEffects,
} from './scanner-effects.ts';
export type { ScannerEffects } from './scanner-effects.ts';
export { generatePhantom, PHANTOM_VERSION, regeneratePhantom, resolvePhantomOptions } from './generate-phantom.ts';
export type {
  Phantom,
  PhantomOptions,
  PhantomParams,
  PhantomRecipe,
  PhantomRegion,
  PhantomTissueParams,
  PoseOptions,
} from './generate-phantom.ts';
export { generateCohort } from './cohort.ts';
export type { CohortOptions, CohortSubject } from './cohort.ts';
export type { HeadAnatomy } from './head-anatomy.ts';
export type { PelvisAnatomy } from './pelvis-anatomy.ts';
