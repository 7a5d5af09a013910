/** Tissue segmenters into classes both CT and MR can show, and the tools they are built from (see each module). */
export { comparableMapping, IGNORE, SHARED_CLASS, SHARED_CLASS_COUNT, SHARED_CLASS_NAMES } from './segmenter.ts';
export type { ComparableMapping, SegmentOptions, Segmenter, SharedClass } from './segmenter.ts';
export { ctSegmenter, DEFAULT_MIN_PIECE_VOXELS } from './ct-segmenter.ts';
export type { CtSegmenterOptions } from './ct-segmenter.ts';
export { classesByBands, classModel, inferContrast, MR_BANDS, mrBodyMask, mrSegmenter } from './mr-segmenter.ts';
export type { ClassModel, MrContrast, MrFit, MrSegmenterOptions, RatioBand } from './mr-segmenter.ts';
export { axialAxis, connectedComponents } from './components.ts';
export type { Component, ComponentOptions, ComponentSlice, ComponentsResult, Connectivity, MaskLike } from './components.ts';
export { close, dilate, dilateCross, erode, erodeCross, open, openLabels } from './morphology.ts';
export { removeSmallPieces } from './clean-labels.ts';
export { classOf, fitPvMixture, kmeans1dOptimal, midpointThresholds, weightedHistogram } from './gmm.ts';
export type { Gaussian1d, PvMixture, WeightedHistogram } from './gmm.ts';
