/** The learned segmenter: a U-Net trained on image/label pairs, saved and loaded as a checkpoint folder (see each module). */
export { describeUnetSegmenter, UNET_SEGMENTER_KIND } from './unet-segmenter.ts';
export type { UnetSegmenterConfig } from './unet-segmenter.ts';
export { diceCrossEntropyLoss, DICE_SMOOTH } from './losses.ts';
export type { SegmentationLoss } from './losses.ts';
export { checkClasses, checkLabelMap, classIndexMap, parseClassSpec, resolveClasses, resolveSharedMapping } from './classes.ts';
export type { SegmenterClass, SharedClassMapping } from './classes.ts';
export { patchBox, segmentVoxels } from './segment-volume.ts';
export type { SegmentVoxelsOptions, WindowLayout } from './segment-volume.ts';
export { createLearnedSegmenter } from './learned-segmenter.ts';
export type { LearnedSegmenter, SegmenterInfo } from './learned-segmenter.ts';
export { loadLearnedSegmenter, readSegmenterManifest, saveLearnedSegmenter, SEGMENTER_FORMAT } from './segmenter-checkpoint.ts';
export type { LoadSegmenterOptions, SegmenterManifest } from './segmenter-checkpoint.ts';
export { trainSegmenter } from './train-segmenter.ts';
export type { SegmenterAugmentation, SegmenterStepReport, TrainingSubject, TrainSegmenterOptions, TrainSegmenterResult } from './train-segmenter.ts';
