/**
 * Worker thread of exportDataset: builds the pipeline once from workerData (and its GAN steps'
 * generators once, on first use, with `ganThreads` onnxruntime threads each), then augments one
 * subject per 'subject' message (one subject in memory at a time), posting a 'sample' message per
 * written pair and 'done' (or 'error') per subject.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { VoxshiftError } from '../../volumes/errors.ts';
import { GanModels } from '../synthesis/gan-steps.ts';
import { augmentSubject, buildStagedPipeline, pipelineName } from './sample.ts';
import type { PipelineSource } from './sample.ts';
import type { SubjectFiles } from './pair-files.ts';

export interface WorkerInit {
  pipeline: PipelineSource;
  seed: number;
  outDir: string;
  /** onnxruntime intra-op threads of each GAN generator in this worker. */
  ganThreads?: number;
}

export type ToWorker = { type: 'subject'; files: SubjectFiles; indices: number[] } | { type: 'exit' };

const init = workerData as WorkerInit;
const port = parentPort;
if (port) {
  const pipeline = buildStagedPipeline(init.pipeline);
  const name = pipelineName(init.pipeline);
  const models = new GanModels(init.ganThreads !== undefined ? { threads: init.ganThreads } : {});
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'exit') {
      void models.dispose().finally(() => port.close());
      return;
    }
    augmentSubject(msg.files, msg.indices, { pipeline, pipelineName: name, seed: init.seed, outDir: init.outDir, models }, (record) => port.postMessage({ type: 'sample', record }))
      .then(() => port.postMessage({ type: 'done', id: msg.files.id }))
      .catch((e: unknown) => {
        const v = e instanceof VoxshiftError ? e : undefined;
        port.postMessage({
          type: 'error',
          id: msg.files.id,
          error: { code: v?.shortCode ?? 'WRITE_FAILED', message: (e as Error).message ?? String(e), param: v?.param, file: v?.file },
        });
      });
  });
}
