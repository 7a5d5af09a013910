/**
 * A trained segmentation U-Net with everything needed to use it: its classes (label value ↔ name),
 * how to normalise an input image, the window layout it was trained on, and an optional mapping of
 * its label values to the validation's shared tissue classes. Segments a whole Volume into a label
 * map on the volume's grid (label values, uint8), synchronously; `asSegmenter` plugs it into the
 * validation `Segmenter` interface (consistency checks).
 */
import { prepareDomainVolume } from '../../../models3d/data/domain-volume.ts';
import type { Network } from '../../../models3d/networks/build-network.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import type { Normalization, NormalizationSpec } from '../../../volumes/normalize.ts';
import { deriveVolume } from '../../../volumes/volume.ts';
import type { Modality, Volume } from '../../../volumes/volume.ts';
import { SHARED_CLASS, type SegmentOptions, type Segmenter, type SharedClass } from '../segmenter.ts';
import { resolveSharedMapping, type SegmenterClass, type SharedClassMapping } from './classes.ts';
import { segmentVoxels, type SegmentVoxelsOptions, type WindowLayout } from './segment-volume.ts';

/** Everything about a segmenter except its weights (the checkpoint manifest holds it). */
export interface SegmenterInfo {
  layout: WindowLayout;
  /** Class index → label value and name; index 0 is the background. */
  classes: SegmenterClass[];
  /** Label value → shared class, when the segmenter was trained or loaded with one. */
  sharedClasses?: Record<number, SharedClass>;
  modality: Modality;
  /** How an input image is normalised (per volume, as in training) and the median of the training fits. */
  normalization: { spec: NormalizationSpec; reference: Normalization };
  /** Median voxel spacing (mm) of the training images. */
  spacing: [number, number, number];
  seed: number;
  steps: number;
  training: Record<string, unknown>;
}

export interface LearnedSegmenter {
  readonly info: SegmenterInfo;
  readonly network: Network;
  /** A label map (label values of `info.classes`) on the volume's grid; geometry copied, history appended. */
  segment(volume: Volume, options?: SegmentVoxelsOptions): Volume<Uint8Array>;
  /**
   * The validation Segmenter view: label values mapped to shared classes by `mapping` (default: the
   * one given at training or load time). Every class needs a shared class (value 0 defaults to outside).
   */
  asSegmenter(mapping?: SharedClassMapping): Segmenter;
  dispose(): void;
}

export function createLearnedSegmenter(network: Network, info: SegmenterInfo, source?: string): LearnedSegmenter {
  if (network.spec.outputChannels !== info.classes.length) {
    throw new VoxshiftError('INVALID_ARGUMENT', `the network outputs ${network.spec.outputChannels} classes but ${info.classes.length} are listed`, { param: 'classes' });
  }
  const values = Uint8Array.from(info.classes.map((c) => c.value));
  let disposed = false;
  const segment = (volume: Volume, options: SegmentVoxelsOptions = {}): Volume<Uint8Array> => {
    if (disposed) throw new VoxshiftError('INVALID_ARGUMENT', 'this segmenter was disposed', { param: 'segmenter' });
    if (volume === null || typeof volume !== 'object' || !ArrayBuffer.isView(volume.data)) {
      throw new VoxshiftError('INVALID_ARGUMENT', 'segment() needs a Volume', { param: 'volume' });
    }
    if (volume.kind !== 'intensity' || volume.channels !== 1) {
      throw new VoxshiftError('INVALID_ARGUMENT', `segment() needs a one-channel intensity image, got a ${volume.channels}-channel ${volume.kind} volume`, {
        param: 'volume',
      });
    }
    const prepared = prepareDomainVolume(volume, info.normalization.spec, volume.meta.source ?? 'volume');
    const index = segmentVoxels(network, prepared.data, volume.shape, info.layout, options);
    const out = new Uint8Array(index.length);
    for (let p = 0; p < index.length; p++) out[p] = values[index[p]];
    return deriveVolume<Uint8Array>(
      volume,
      { data: out, kind: 'label', modality: 'SEG', meta: { units: 'label', description: `learned segmenter: ${info.classes.map((c) => `${c.value}=${c.name}`).join(', ')}` } },
      {
        op: 'segment',
        params: {
          segmenter: 'learned-unet',
          ...(source !== undefined ? { checkpoint: source } : {}),
          spatialDims: info.layout.spatialDims,
          steps: info.steps,
          seed: info.seed,
          classes: info.classes.map((c) => ({ ...c })),
          normalization: { ...prepared.normalization },
        },
      },
    );
  };
  return {
    info,
    network,
    segment,
    asSegmenter(mapping?: SharedClassMapping): Segmenter {
      const given = mapping ?? info.sharedClasses;
      if (given === undefined) {
        throw new VoxshiftError('INVALID_ARGUMENT', 'this segmenter has no label value → shared class mapping; pass one (e.g. { 0: 0, 1: 3 })', { param: 'sharedClasses' });
      }
      const map = resolveSharedMapping(given, info.classes);
      const lut = new Uint8Array(256);
      for (const c of info.classes) lut[c.value] = map[c.value];
      const classes = [...new Set<SharedClass>([SHARED_CLASS.OUTSIDE, ...info.classes.map((c) => map[c.value])])].sort((a, b) => a - b);
      return {
        name: 'learned-unet',
        classes,
        segment(volume: Volume, options: SegmentOptions = {}): Volume<Uint8Array> {
          const labels = segment(volume);
          const out = new Uint8Array(labels.data.length);
          const body = options.body?.data;
          for (let p = 0; p < out.length; p++) out[p] = body !== undefined && body[p] === 0 ? SHARED_CLASS.OUTSIDE : lut[labels.data[p]];
          return deriveVolume<Uint8Array>(labels, { data: out, meta: { ...labels.meta, description: 'shared tissue classes (learned segmenter)' } }, {
            op: 'shared-classes',
            params: { mapping: { ...map } },
          });
        },
      };
    },
    dispose() {
      disposed = true;
      network.dispose();
    },
  };
}
