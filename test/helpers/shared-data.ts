/**
 * Locates the real test files in ../shared/data (beside the repo; VOXSHIFT_SHARED_DATA overrides)
 * and the Debian reference tools. On CI (CI=true) a missing tool or data folder is a failure, not a
 * skip: `.ci/run` installs them, so a skip there would hide a broken set-up.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DATA = process.env.VOXSHIFT_SHARED_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
export const ON_CI = process.env.CI === 'true' || process.env.CI === '1';

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DATA, ...parts);
}

export function hasSharedData(): boolean {
  const ok = existsSync(join(SHARED_DATA, 'MANIFEST.tsv'));
  if (!ok && ON_CI) throw new Error(`shared test data not found at ${SHARED_DATA}`);
  return ok;
}

export function hasTool(command: string, probeArgs: string[] = ['--version']): boolean {
  try {
    execFileSync(command, probeArgs, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch (e) {
    // dcm2niix exits non-zero for some probes but still exists; ENOENT is the only "missing".
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && ON_CI) throw new Error(`reference tool ${command} is not installed (.ci/run should install it)`, { cause: e });
    return !missing;
  }
}

/**
 * The Python interpreter that has `mod`: Debian's python3-* packages live under /usr/bin/python3,
 * which a pyenv or venv `python3` earlier on PATH does not see. VOXSHIFT_PYTHON overrides.
 */
export function pythonWith(mod: string): string | undefined {
  const candidates = [process.env.VOXSHIFT_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const exe of candidates) {
    try {
      execFileSync(exe, ['-c', `import ${mod}`], { stdio: 'ignore', timeout: 60_000 });
      return exe;
    } catch {
      // try the next interpreter
    }
  }
  if (ON_CI) throw new Error(`no python3 with module ${mod} (.ci/run should install it)`);
  return undefined;
}

export function hasPythonModule(mod: string): boolean {
  return pythonWith(mod) !== undefined;
}
