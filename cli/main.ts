/**
 * The `voxshift` command line: one binary, subcommands registered from cli/commands/*.
 * `main` returns the exit code instead of exiting so tests can call it in-process.
 */
import { Command, CommanderError } from 'commander';
import { isVoxshiftError } from '../volumes/errors.ts';
import { COMMANDS } from './commands/index.ts';
import { invocation } from './invocation.ts';
import { VERSION } from './version.ts';

export async function main(argv: string[]): Promise<number> {
  invocation.argv = [...argv];
  const program = new Command('voxshift')
    .description('voxshift: medical image volumes, MR→CT synthesis, harmonization, augmentation, validation')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  let exitCode = 0;
  for (const register of COMMANDS) {
    register(program, (code) => {
      exitCode = code;
    });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (isVoxshiftError(e)) {
      process.stderr.write(`voxshift: error ${e.code}: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`voxshift: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}
