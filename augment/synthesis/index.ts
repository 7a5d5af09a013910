/** GAN-based and generative augmentation: translation with a models3d checkpoint, label → image synthesis. */
export { LabelToImage, RandomLabelToImage, SYNTHESIS_DEFAULTS, labelValues, sampleMixture } from './label-to-image.ts';
export type { LabelRanges, LabelToImageParams, RandomLabelToImageOptions, SynthesisStyle } from './label-to-image.ts';
export { translateSubject, translationStep } from './translate-subject.ts';
export type { TranslateSubjectOptions } from './translate-subject.ts';
