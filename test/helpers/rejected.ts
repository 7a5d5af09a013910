import { VoxshiftError } from '../../volumes/errors.ts';

/** The VoxshiftError a promise rejects with (anything else, or no rejection, fails the test). */
export async function rejected(p: Promise<unknown>): Promise<VoxshiftError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VoxshiftError) return e;
    throw new Error(`expected a VoxshiftError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a VoxshiftError, nothing was thrown');
}
