/**
 * `voxshift convert IN OUT`: any supported format to any other; the output format is chosen by OUT's
 * extension (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd) or a folder for a DICOM series.
 */
import type { Command } from 'commander';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { createProgressBar } from '../progress.ts';
import type { RegisterCommand } from './index.ts';
import type { VolumeKind } from '../../volumes/volume.ts';

interface ConvertOptions {
  series?: string;
  template?: string;
  overwrite?: boolean;
  label?: boolean;
}

export const registerConvert: RegisterCommand = (program: Command) => {
  program
    .command('convert')
    .description('convert a volume between DICOM, NIfTI, NRRD and MHA (format chosen by OUT)')
    .argument('<in>', 'input file, folder or .zip')
    .argument('<out>', 'output file (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd) or folder (DICOM series)')
    .option('--series <uid>', 'DICOM series to read when the input holds several')
    .option('--template <dicom>', 'DICOM output: carry patient/study tags from this file or folder')
    .option('--label', 'the input is a label map (nearest-neighbour semantics, integer output)')
    .option('--overwrite', 'replace existing output')
    .action(async (input: string, output: string, opts: ConvertOptions) => {
      const bar = createProgressBar('reading');
      const kind: VolumeKind | undefined = opts.label ? 'label' : undefined;
      const vol = await readVolume(input, {
        ...(opts.series !== undefined ? { seriesInstanceUid: opts.series } : {}),
        ...(kind !== undefined ? { kind } : {}),
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.stop();
      const files = await writeVolume(vol, output, {
        ...(opts.template !== undefined ? { template: opts.template } : {}),
        ...(opts.overwrite ? { overwrite: true } : {}),
      });
      for (const w of vol.meta.warnings) process.stderr.write(`warning ${w.code}: ${w.message}\n`);
      process.stdout.write(`wrote ${files.length === 1 ? files[0] : `${files.length} files to ${output}`} (${vol.shape.join('×')}, ${vol.modality})\n`);
    });
};
