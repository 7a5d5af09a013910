/**
 * Garbage collection of the data folder:
 * - finished jobs (succeeded, failed, cancelled) are removed with their files `jobRetentionMs` after
 *   they finished, unless a job still waiting or running takes their result as an input;
 * - uploads older than `uploadTtlMs` that no remaining job references (as `upload` or in `inputs`)
 *   are deleted, and so are upload folders without a record (a receive cut short by a crash) older
 *   than the same TTL. Uploads held by a request in flight (JobStore.hold: received in it, or named
 *   by the job it creates) are left alone, whatever their age, and so are uploads whose hold ended
 *   after this pass listed the jobs (their job may be newer than the listing).
 * The app runs it at start and every `gcIntervalMs` (ServiceOptions).
 */
import type { JobStore } from './job-store.ts';
import type { Job } from './schemas.ts';

export interface GcOptions {
  uploadTtlMs: number;
  jobRetentionMs: number;
  /** Default Date.now(). */
  now?: number;
}

export interface GcResult {
  jobs: string[];
  uploads: string[];
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

const refs = (j: Job): { uploads: string[]; jobs: string[] } => {
  const ins = Object.values(j.inputs ?? {});
  return {
    uploads: [j.upload, ...ins.flatMap((r) => ('upload' in r ? [r.upload] : []))],
    jobs: ins.flatMap((r) => ('job' in r ? [r.job] : [])),
  };
};

export async function collectGarbage(
  store: JobStore,
  jobs: { list(): Promise<Job[]>; delete(id: string): Promise<boolean> },
  options: GcOptions,
): Promise<GcResult> {
  const now = options.now ?? Date.now();
  const out: GcResult = { jobs: [], uploads: [] };
  const all = await jobs.list();
  const neededJobs = new Set(all.filter((j) => !FINISHED.has(j.state)).flatMap((j) => refs(j).jobs));
  for (const j of all) {
    if (!FINISHED.has(j.state) || neededJobs.has(j.id)) continue;
    const at = Date.parse(j.finishedAt ?? j.createdAt);
    if (now - at >= options.jobRetentionMs && (await jobs.delete(j.id))) out.jobs.push(j.id);
  }
  // An upload held at any moment from here on may be named by a job written after this listing.
  const listedAt = performance.now();
  const remaining = await jobs.list();
  const neededUploads = new Set(remaining.flatMap((j) => refs(j).uploads));
  for (const u of await store.listUploads()) {
    if (neededUploads.has(u.id) || store.isHeld(u.id, listedAt) || now - Date.parse(u.createdAt) < options.uploadTtlMs) continue;
    await store.discardUpload(u.id);
    out.uploads.push(u.id);
  }
  for (const s of await store.strayUploads(now)) {
    if (s.ageMs < options.uploadTtlMs || neededUploads.has(s.id) || store.isHeld(s.id, listedAt)) continue;
    await store.discardUpload(s.id);
    out.uploads.push(s.id);
  }
  return out;
}
