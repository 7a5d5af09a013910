/** GAN-based and generative augmentation: translation with a models3d checkpoint, label → image synthesis (Gaussian mixture, or a label → image Pix2Pix). */
export { LabelToImage, RandomLabelToImage, SYNTHESIS_DEFAULTS, labelValues, sampleMixture } from './label-to-image.ts';
export type { LabelRanges, LabelToImageParams, RandomLabelToImageOptions, SynthesisStyle } from './label-to-image.ts';
export { translateSubject, translationStep } from './translate-subject.ts';
export type { TranslateSubjectOptions } from './translate-subject.ts';
export { labelToImageGAN, labelToImageGANStep } from './label-to-image-gan.ts';
export type { LabelToImageGANOptions } from './label-to-image-gan.ts';
