import type { Command } from 'commander';

/** A subcommand registers itself on the program; `setExitCode` lets it report failure without throwing. */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;

export const COMMANDS: RegisterCommand[] = [];
