/**
 * Pairs images with label maps by file name: `images/case01.nii.gz` goes with `labels/case01.nii.gz`
 * (any readable single-file format on either side: the stem before the extension must match).
 * An image without a label map is an error naming both folders; label maps without an image are ignored.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';

export interface SubjectFiles {
  /** The shared stem, e.g. "case01": the subject's id in the manifest and output names. */
  id: string;
  image: string;
  label: string;
}

const EXTENSIONS = ['.nii.gz', '.nii', '.nrrd', '.nhdr', '.mha', '.mhd'];

function stemOf(name: string): string | undefined {
  const ext = EXTENSIONS.find((e) => name.toLowerCase().endsWith(e));
  return ext && name.length > ext.length ? name.slice(0, -ext.length) : undefined;
}

async function volumesIn(dir: string, param: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch (e) {
    throw new VoxshiftError('FILE_NOT_FOUND', `--${param} ${JSON.stringify(dir)} is not a readable folder`, { file: dir, param, cause: e });
  }
  const out = new Map<string, string>();
  for (const name of names.sort()) {
    const stem = stemOf(name);
    if (stem === undefined) continue;
    if (out.has(stem)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `--${param} has two volumes named ${stem} (${out.get(stem)} and ${name}); keep one`, { file: dir, param });
    }
    out.set(stem, name);
  }
  return out;
}

/** The subjects of `imagesDir` with their label maps from `labelsDir`, sorted by id. */
export async function pairSubjectFiles(imagesDir: string, labelsDir: string): Promise<SubjectFiles[]> {
  const images = await volumesIn(imagesDir, 'images');
  const labels = await volumesIn(labelsDir, 'labels');
  if (images.size === 0) {
    throw new VoxshiftError('FILE_NOT_FOUND', `--images ${JSON.stringify(imagesDir)} holds no volumes (${EXTENSIONS.join(', ')})`, { file: imagesDir, param: 'images' });
  }
  const missing = [...images.keys()].filter((s) => !labels.has(s));
  if (missing.length > 0) {
    throw new VoxshiftError(
      'FILE_NOT_FOUND',
      `no label map in --labels ${JSON.stringify(labelsDir)} for ${missing.length} image(s) of --images: ${missing.slice(0, 5).map((s) => images.get(s)).join(', ')}${missing.length > 5 ? ', ...' : ''} (a label map must have the same name stem, e.g. ${missing[0]}.nii.gz)`,
      { file: labelsDir, param: 'labels', details: { missing } },
    );
  }
  return [...images.keys()].map((id) => ({ id, image: join(imagesDir, images.get(id)!), label: join(labelsDir, labels.get(id)!) }));
}
