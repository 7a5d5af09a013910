import type { Command } from 'commander';
import { registerAugment } from './augment.ts';
import { registerConvert } from './convert.ts';
import { registerDemo } from './demo.ts';
import { registerExport } from './export.ts';
import { registerHarmonize } from './harmonize.ts';
import { registerInfo } from './info.ts';
import { registerPhantom } from './phantom.ts';
import { registerServe } from './serve.ts';
import { registerTrain } from './train.ts';
import { registerTranslate } from './translate.ts';
import { registerWorker } from './worker.ts';
import { registerValidate } from './validate.ts';

/** A subcommand registers itself on the program; `setExitCode` lets it report failure without throwing. */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;

export const COMMANDS: RegisterCommand[] = [registerInfo, registerConvert, registerPhantom, registerTrain, registerTranslate, registerExport, registerHarmonize, registerAugment, registerServe, registerWorker, registerValidate, registerDemo];
