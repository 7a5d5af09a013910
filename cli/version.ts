import { readFileSync } from 'node:fs';

const pkgUrl = new URL('../../package.json', import.meta.url);
const fallbackUrl = new URL('../package.json', import.meta.url);

function readVersion(): string {
  for (const url of [fallbackUrl, pkgUrl]) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'voxshift' && pkg.version) return pkg.version;
    } catch {
      // try the next location (source tree vs dist/)
    }
  }
  return '0.0.0';
}

/** The library version, written into checkpoints and reports. */
export const VERSION = readVersion();
