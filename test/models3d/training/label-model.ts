/**
 * Test helper: a tiny label → image Pix2Pix (2D, one-hot label input) trained on head phantoms'
 * label maps → T1, and the per-label mean of an image.
 */
import { prepareDomainVolume } from '../../../models3d/data/domain-volume.ts';
import { distinctLabels } from '../../../models3d/data/label-encoding.ts';
import { resolveModelConfig, type ModelConfig } from '../../../models3d/model/config.ts';
import { trainModel, type TrainModelResult } from '../../../models3d/training/train-model.ts';
import { generatePhantom, type Phantom } from '../../../volumes/phantom/index.ts';
import type { Volume } from '../../../volumes/volume.ts';

export const LABEL_PHANTOM_SHAPE = [32, 32, 16] as const;

export function labelPhantoms(seeds: readonly number[] = [1, 2]): Phantom[] {
  return seeds.map((seed) => generatePhantom({ region: 'head', seed, shape: LABEL_PHANTOM_SHAPE }));
}

export function labelModelConfig(classes: number[], steps: number, seed = 3): ModelConfig {
  return resolveModelConfig({
    kind: 'pix2pix',
    spatialDims: 2,
    domains: { a: { normalization: { type: 'labels', classes } }, b: { modality: 'MR' } },
    generator: { type: 'unet', ngf: 8, depth: 2, dropout: 0 },
    discriminator: { ndf: 4, layers: 2 },
    optimizer: { constantSteps: steps, decaySteps: 0, learningRate: 2e-3 },
    data: { patchSize: [16, 16] },
    seed,
  });
}

/** Trains label maps → T1 of `phantoms` for `steps` steps into `outDir`. */
export async function trainLabelModel(phantoms: readonly Phantom[], outDir: string, steps: number, seed = 3): Promise<TrainModelResult & { config: ModelConfig }> {
  const classes = distinctLabels(phantoms.map((p) => p.labels), phantoms.map((_, i) => `L${i}`));
  const config = labelModelConfig(classes, steps, seed);
  const data = {
    a: phantoms.map((p, i) => prepareDomainVolume(p.labels, config.domains.a.normalization, `L${i}`)),
    b: phantoms.map((p, i) => prepareDomainVolume(p.t1, config.domains.b.normalization, `T${i}`)),
  };
  const r = await trainModel({ config, data, outDir, logEvery: 1, montageEvery: 0 });
  return { ...r, config };
}

/** Mean of `image` over the voxels of each label value (those with at least `minVoxels`). */
export function perLabelMeans(image: Volume, labels: Volume, minVoxels = 100): Map<number, number> {
  const sum = new Map<number, [number, number]>();
  for (let p = 0; p < labels.data.length; p++) {
    const l = Number(labels.data[p]);
    const s = sum.get(l) ?? [0, 0];
    s[0] += Number(image.data[p]);
    s[1]++;
    sum.set(l, s);
  }
  return new Map([...sum].filter(([, [, n]]) => n >= minVoxels).map(([l, [s, n]]) => [l, s / n]));
}

/** The label whose mean is highest. */
export function brightest(means: Map<number, number>): number {
  return [...means].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}
