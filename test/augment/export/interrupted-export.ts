/**
 * Test helper run as a child process (`node --import tsx interrupted-export.ts '<json>'`): an
 * exportDataset that kills its own process with SIGKILL once `killAfter` samples were recorded — an
 * interruption at a point where other workers may be half-way through writing.
 */
import { exportDataset } from '../../../augment/export/export-dataset.ts';
import type { ExportDatasetOptions } from '../../../augment/export/export-dataset.ts';

const args = JSON.parse(process.argv[2]) as Omit<ExportDatasetOptions, 'onProgress'> & { killAfter: number };
let first: number | undefined;
await exportDataset({
  ...args,
  onProgress: (done) => {
    first ??= done;
    if (done - first >= args.killAfter) process.kill(process.pid, 'SIGKILL');
  },
});
