/** GAN-based and generative augmentation: translation with a models3d checkpoint, label → image synthesis (Gaussian mixture, or a label → image Pix2Pix). */
export { LabelToImage, RandomLabelToImage, SYNTHESIS_DEFAULTS, labelValues, sampleMixture } from './label-to-image.ts';
export type { LabelRanges, LabelToImageParams, RandomLabelToImageOptions, SynthesisStyle } from './label-to-image.ts';
export { translateSubject, translationStep } from './translate-subject.ts';
export type { TranslateSubjectOptions } from './translate-subject.ts';
export { labelToImageGAN, labelToImageGANStep } from './label-to-image-gan.ts';
export type { LabelToImageGANOptions } from './label-to-image-gan.ts';
export { GanModels, applyGanStep, checkGanStep, parseGanStep, GAN_STEP_TYPES } from './gan-steps.ts';
export type { GanModelInfo, GanStep, GanStepType } from './gan-steps.ts';
export { applyStaged, checkGanModels, parseStagedPipeline, syncStaged } from './staged-pipeline.ts';
export type { Stage, StagedPipeline } from './staged-pipeline.ts';
