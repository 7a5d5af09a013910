#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm install` builds it (prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(compiled)) {
  process.stderr.write('voxshift: the CLI is not built (dist/cli/main.js missing); run `npm install` or `npm run build` first.\n');
  process.exit(1);
}
const { main } = await import(compiled);
const code = await main(process.argv.slice(2));
process.exit(code);
