/**
 * The MR→CT part of `voxshift demo`: a head phantom the shipped model never saw is translated from
 * T1-weighted MR to synthetic CT; the result is written as NIfTI with a PNG montage
 * (MR | synthetic CT | phantom CT | linear-fit baseline | |error|) and scored in HU inside the body,
 * next to the global linear MR→HU fit it has to beat.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeVolume } from '../../volumes/io.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import { initBackend } from '../../models3d/engine/backend.ts';
import { evaluateOnPhantoms, type PhantomEvaluation } from '../../models3d/evaluation/phantom-evaluation.ts';
import { loadTranslator } from '../../models3d/inference/translate.ts';
import { volumeMontage, windowFor } from '../../models3d/report/montage.ts';
import { shippedModelDir } from '../../models3d/shipped-models.ts';
import { createProgressBar } from '../progress.ts';

export interface DemoSynthesis {
  evaluation: PhantomEvaluation;
  files: string[];
  runtime: string;
}

const CT_WINDOW = { lower: -1000, upper: 1600 };

export async function runDemoSynthesis(outDir: string, log: (s: string) => void): Promise<DemoSynthesis> {
  await initBackend('auto');
  const translator = await loadTranslator(shippedModelDir('phantom-mr2ct-pix2pix-2d'));
  const files: string[] = [];
  const bar = createProgressBar('MR → CT');
  try {
    const evaluation = await evaluateOnPhantoms(translator, {
      subjects: 1,
      onSubject: (d, t) => bar.update(d, t),
      onResult: async ({ mr, ct, synthetic, baseline, body }) => {
        const error = deriveVolume(synthetic, { data: Float32Array.from(synthetic.data, (v, i) => Math.abs(v - ct.data[i]) * body.data[i]) });
        for (const [name, vol] of [
          ['mr2ct_input_t1.nii.gz', mr],
          ['mr2ct_synthetic_ct.nii.gz', synthetic],
          ['mr2ct_phantom_ct.nii.gz', ct],
          ['mr2ct_linear_baseline.nii.gz', baseline],
        ] as const) {
          const path = join(outDir, name);
          await writeVolume(vol, path, { overwrite: true });
          files.push(path);
        }
        const montage = volumeMontage(
          [
            { volume: mr, window: windowFor(mr), label: 'MR T1' },
            { volume: synthetic, window: CT_WINDOW, label: 'synthetic CT' },
            { volume: ct, window: CT_WINDOW, label: 'phantom CT' },
            { volume: baseline, window: CT_WINDOW, label: 'linear fit' },
            { volume: error, window: { lower: 0, upper: 500 }, label: '|error| 0-500' },
          ],
          { slices: 3, scale: 2 },
        );
        const png = join(outDir, 'mr2ct_montage.png');
        await writeFile(png, montage.png);
        files.push(png);
      },
    });
    bar.stop();
    log('');
    log(`MR → CT with the shipped model (${translator.config.kind}, ${translator.config.spatialDims}D, trained ${translator.manifest.step} steps) on ${translator.runtimeDescription}:`);
    log(`  MAE in the body: model ${evaluation.modelMae.toFixed(1)} HU, global linear MR→HU fit ${evaluation.baselineMae.toFixed(1)} HU (${evaluation.improvement.toFixed(2)}× lower)`);
    log(`  SSIM in the body: model ${evaluation.modelSsim.toFixed(3)}, linear fit ${evaluation.baselineSsim.toFixed(3)}`);
    log(`  wrote ${files.map((f) => f.slice(outDir.length + 1)).join(', ')}`);
    return { evaluation, files, runtime: translator.runtimeDescription };
  } finally {
    bar.stop();
    translator.dispose();
  }
}
