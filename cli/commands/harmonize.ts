/**
 * `voxshift harmonize fit|apply|report`: site harmonisation from the command line.
 *
 *   harmonize fit --method nyul|whitestripe|zscore|histmatch|cyclegan --site NAME=DIR ... --reference NAME --out MODEL.json [--bias-correct]
 *   harmonize fit --method combat --table TABLE.csv [--site-column site] [--covariates a,b] [--reference NAME] --out MODEL.json
 *   harmonize apply --model MODEL.json IN OUT [--site NAME] [--mask FILE]
 *   harmonize apply --model COMBAT.json --table IN.csv --out OUT.csv [--site-column site]
 *   harmonize report (--phantom-sites | --site NAME=DIR ... [--labels NAME=DIR ...]) --reference NAME --out DIR [--methods ...]
 *                    [--learned-anatomy-steps N | --no-learned-anatomy]
 *
 * A site folder holds one volume per file (NIfTI, NRRD, MHA) or is one DICOM series (as `train`).
 */
import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { VoxshiftError } from '../../volumes/errors.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import type { Volume } from '../../volumes/volume.ts';
import { initBackend, type BackendKind } from '../../models3d/engine/backend.ts';
import { applyCombat, fitCombat } from '../../harmonize/combat.ts';
import { readFeatureCsv, writeFeatureCsv } from '../../harmonize/feature-table.ts';
import { fitHarmonizer, openHarmonizer } from '../../harmonize/harmonizer.ts';
import { formatReport, harmonizationReport, REPORT_METHODS, type ExperimentSubject, type ReportMethod } from '../../harmonize/measure/report.ts';
import { HARMONIZE_METHODS, loadHarmonizerModel, saveHarmonizerModel, type HarmonizeMethod, type IntensityMethod } from '../../harmonize/model.ts';
import { PHANTOM_REFERENCE_SITE, PHANTOM_SITE_SHAPE, phantomSiteCohort } from '../../harmonize/phantom-sites.ts';
import { checkSiteName, type SiteVolumes } from '../../harmonize/sites.ts';
import { expandVolumePaths } from './train.ts';
import type { RegisterCommand } from './index.ts';

const say = (s: string): boolean => process.stderr.write(`${s}\n`);

function bad(param: string, message: string): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', `--${param} ${message}`, { param });
}

function int(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw bad(name, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function numbers(name: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const a = v.split(',').map((s) => Number(s.trim()));
  if (a.length === 0 || !a.every(Number.isFinite)) throw bad(name, `must be comma-separated numbers, got ${JSON.stringify(v)}`);
  return a;
}

/** `NAME=DIR` pairs → site name → folder (a site may be given more than once: its folders add up). */
export function parseSites(values: readonly string[] | undefined, param = 'site'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const v of values ?? []) {
    const k = v.indexOf('=');
    if (k <= 0 || k === v.length - 1) throw bad(param, `must be NAME=DIR, got ${JSON.stringify(v)}`);
    const name = v.slice(0, k);
    checkSiteName(name, param);
    out.set(name, [...(out.get(name) ?? []), v.slice(k + 1)]);
  }
  return out;
}

async function readSites(sites: Map<string, string[]>): Promise<Map<string, Volume[]>> {
  const out = new Map<string, Volume[]>();
  for (const [name, dirs] of sites) {
    const files = await expandVolumePaths(dirs);
    const vols: Volume[] = [];
    for (const f of files) {
      say(`reading ${name}: ${f}`);
      vols.push(await readVolume(f));
    }
    out.set(name, vols);
  }
  return out;
}

interface FitOptions {
  method: string;
  site?: string[];
  reference?: string;
  out: string;
  features?: string;
  table?: string;
  siteColumn: string;
  subjectColumn: string;
  covariates?: string;
  eb: boolean;
  peak?: string;
  percentiles?: string;
  levels?: string;
  dims: string;
  steps: string;
  ngf: string;
  blocks: string;
  patch?: string;
  batch: string;
  seed: string;
  backend: string;
  threads?: string;
  biasCorrect?: boolean;
}

interface ApplyCliOptions {
  model: string;
  table?: string;
  out?: string;
  siteColumn: string;
  subjectColumn: string;
  site?: string;
  mask?: string;
  overwrite?: boolean;
  backend: string;
  threads?: string;
}

interface ReportCliOptions {
  phantomSites?: boolean;
  site?: string[];
  labels?: string[];
  truthClasses?: string;
  reference?: string;
  out: string;
  methods?: string;
  subjects: string;
  train?: string;
  shape?: string;
  seed: string;
  cycleganSteps: string;
  learnedAnatomy: boolean;
  learnedAnatomySteps: string;
  backend: string;
  threads?: string;
}

async function startBackend(o: { backend: string; threads?: string }): Promise<void> {
  const threads = int('threads', o.threads);
  await initBackend(o.backend as BackendKind, { ...(threads !== undefined ? { threads } : {}), log: say });
}

function cycleganConfig(o: Pick<FitOptions, 'steps' | 'ngf' | 'blocks' | 'patch' | 'batch' | 'seed' | 'dims'>) {
  const dims = Number(o.dims);
  if (dims !== 2 && dims !== 3) throw bad('dims', `must be 2 or 3, got ${JSON.stringify(o.dims)}`);
  const steps = int('steps', o.steps) as number;
  const patch = o.patch !== undefined ? (numbers('patch', o.patch) as number[]) : dims === 2 ? [32, 32] : [16, 16, 16];
  return {
    spatialDims: dims as 2 | 3,
    config: {
      generator: { ngf: int('ngf', o.ngf) as number, blocks: int('blocks', o.blocks, 0) as number },
      discriminator: { ndf: int('ngf', o.ngf) as number, layers: 2 },
      optimizer: { constantSteps: Math.ceil(steps / 2), decaySteps: Math.floor(steps / 2) },
      data: { patchSize: patch, batchSize: int('batch', o.batch) as number, poolSize: 20 },
      seed: int('seed', o.seed, 0) as number,
    },
  };
}

async function fitCommand(o: FitOptions): Promise<void> {
  const method = o.method as HarmonizeMethod;
  if (!HARMONIZE_METHODS.includes(method)) throw bad('method', `must be one of ${HARMONIZE_METHODS.join(', ')}, got ${JSON.stringify(o.method)}`);
  if (method === 'combat') {
    if (o.features !== undefined && o.table !== undefined) throw bad('table', 'and --features are the same option; give one');
    const csv = o.table ?? o.features;
    if (csv === undefined) throw bad('table', 'is required with --method combat: a CSV with subject, site, covariate and feature columns');
    if (o.site) throw bad('site', 'is for image methods; ComBat reads its subjects from --table (the site column is --site-column)');
    const covariates = o.covariates ? o.covariates.split(',').map((s) => s.trim()).filter(Boolean) : [];
    const table = await readFeatureCsv(csv, covariates, { site: o.siteColumn, subject: o.subjectColumn });
    const fit = fitCombat(table, { covariates, empiricalBayes: o.eb, ...(o.reference !== undefined ? { reference: o.reference } : {}) });
    await saveHarmonizerModel(fit.model, o.out);
    process.stdout.write(`fitted combat on ${table.subjects.length} subjects (${fit.model.sites.join(', ')}), ${table.features.length} features; wrote ${o.out}\n`);
    return;
  }
  if (o.reference === undefined) throw bad('reference', 'is required: the site every other site is mapped onto');
  const siteDirs = parseSites(o.site);
  if (siteDirs.size === 0) throw bad('site', 'is required: NAME=DIR for the reference site (and every source site for cyclegan)');
  if (o.biasCorrect && method === 'cyclegan') throw bad('bias-correct', 'is a pre-step of zscore, whitestripe, nyul and histmatch, not of cyclegan');
  const vols = await readSites(siteDirs);
  const sites: SiteVolumes = Object.fromEntries(vols);
  if (method === 'cyclegan') await startBackend(o);
  const t0 = performance.now();
  const model = await fitHarmonizer({
    method: method as IntensityMethod,
    sites,
    reference: o.reference,
    ...(o.peak !== undefined ? { whitestripe: { peak: o.peak as 'largest' | 'last' } } : {}),
    ...(o.percentiles !== undefined ? { nyul: { percentiles: numbers('percentiles', o.percentiles) as number[] } } : {}),
    ...(o.levels !== undefined ? { histmatch: { levels: int('levels', o.levels, 2) as number } } : {}),
    ...(o.biasCorrect ? { biasCorrection: true } : {}),
    ...(method === 'cyclegan'
      ? {
          cyclegan: {
            modelPath: o.out,
            ...cycleganConfig(o),
            log: say,
            onStep: (site: string, r: { step: number; totalSteps: number; secondsPerStep: number }) => {
              if (r.step % 50 === 0 || r.step === r.totalSteps) say(`cyclegan ${site} → ${o.reference}: step ${r.step}/${r.totalSteps} (${r.secondsPerStep.toFixed(2)} s/step)`);
            },
          },
        }
      : {}),
  });
  await saveHarmonizerModel(model, o.out);
  const used = Object.entries(model.subjects).map(([s, n]) => `${s} ${n}`).join(', ');
  process.stdout.write(`fitted ${method}${o.biasCorrect ? ' with bias-field correction' : ''} (reference ${model.reference}; subjects ${used}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote ${o.out}\n`);
}

async function applyCommand(inArg: string | undefined, outArg: string | undefined, o: ApplyCliOptions): Promise<void> {
  if (o.table !== undefined && inArg !== undefined) throw bad('table', `and the input argument ${JSON.stringify(inArg)} both name the input; give one`);
  if (o.out !== undefined && outArg !== undefined) throw bad('out', `and the output argument ${JSON.stringify(outArg)} both name the output; give one`);
  const input = o.table ?? inArg;
  const output = o.out ?? outArg;
  if (input === undefined || output === undefined) throw bad(input === undefined ? 'table' : 'out', 'is missing: give IN OUT (a volume) or --table IN.csv --out OUT.csv (ComBat)');
  const model = await loadHarmonizerModel(o.model);
  if (model.method === 'combat') {
    const covariates = model.parameters.covariates.map((c) => c.name);
    const columns = { site: o.siteColumn, subject: o.subjectColumn };
    const table = await readFeatureCsv(input, covariates, columns);
    const out = applyCombat(model, table);
    await writeFeatureCsv(out, output, columns);
    process.stdout.write(`harmonized ${table.subjects.length} subjects with combat; wrote ${output}\n`);
    return;
  }
  if (o.table !== undefined) throw bad('table', `is for ComBat models; ${o.model} is a ${model.method} model (give IN OUT volumes)`);
  if (model.method === 'cyclegan') await startBackend(o);
  const vol = await readVolume(input);
  const mask = o.mask !== undefined ? await readVolume(o.mask) : undefined;
  const h = openHarmonizer(model, { baseDir: dirname(resolve(o.model)) });
  try {
    const out = await h.apply(vol, { ...(o.site !== undefined ? { site: o.site } : {}), ...(mask ? { mask } : {}) });
    const files = await writeVolume(out, output, o.overwrite ? { overwrite: true } : {});
    process.stdout.write(`harmonized ${vol.shape.join('×')} with ${model.method} (reference ${model.reference}); wrote ${files.length === 1 ? files[0] : `${files.length} files to ${output}`}\n`);
  } finally {
    h.dispose();
  }
}

/** The non-zero label ids present in every label map, named `label<id>`. */
function commonRegions(maps: readonly Volume[]): Record<number, string> {
  let common: Set<number> | undefined;
  for (const m of maps) {
    const ids = new Set<number>();
    for (let p = 0; p < m.data.length; p++) if (m.data[p] !== 0) ids.add(m.data[p]);
    common = common ? new Set([...common].filter((i) => ids.has(i))) : ids;
  }
  const ids = [...(common ?? [])].sort((a, b) => a - b);
  if (ids.length === 0) throw bad('labels', 'maps share no non-zero label; tissue features need regions present in every subject');
  return Object.fromEntries(ids.map((i) => [i, `label${i}`]));
}

const SHARED_NAMES: Record<string, number> = { dark: 1, fat: 2, soft: 3, fluid: 4 };

/** `ID=CLASS,...` (class dark, fat, soft or fluid) → label id → shared class lookup; undefined → null (no Dice vs labels). */
export function parseTruthClasses(v: string | undefined): number[] | null {
  if (v === undefined) return null;
  const out: number[] = [];
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)=(\w+)$/.exec(part);
    const cls = m ? SHARED_NAMES[m[2]] : undefined;
    if (!m || cls === undefined || Number(m[1]) > 65535) throw bad('truth-classes', `must be ID=CLASS pairs with CLASS dark, fat, soft or fluid, got ${JSON.stringify(part)}`);
    out[Number(m[1])] = cls;
  }
  if (out.length === 0) throw bad('truth-classes', `lists no ID=CLASS pair, got ${JSON.stringify(v)}`);
  return Array.from({ length: out.length }, (_, i) => out[i] ?? 0);
}

async function reportCommand(o: ReportCliOptions): Promise<void> {
  const methods = (o.methods ?? HARMONIZE_METHODS.filter((m) => m !== 'cyclegan').join(',')).split(',').map((s) => s.trim()) as ReportMethod[];
  for (const m of methods) if (!REPORT_METHODS.includes(m)) throw bad('methods', `lists ${JSON.stringify(m)}; methods are ${REPORT_METHODS.join(', ')}`);
  const learnedSteps = int('learned-anatomy-steps', o.learnedAnatomySteps) as number;
  let subjects: ExperimentSubject[];
  let reference: string;
  let realLabels: { regions: Record<number, string>; truthClasses: number[] | null } | undefined;
  if (o.phantomSites) {
    if (o.site) throw bad('site', 'and --phantom-sites exclude each other');
    if (o.labels || o.truthClasses !== undefined) throw bad(o.labels ? 'labels' : 'truth-classes', 'is for --site folders; the phantom cohort has its own labels');
    const perSite = int('subjects', o.subjects, 3) as number;
    const nTrain = int('train', o.train) ?? Math.floor(perSite / 2);
    if (nTrain >= perSite - 1) throw bad('train', `must leave at least 2 held-out subjects per site (--subjects ${perSite}), got ${nTrain}`);
    const shape = o.shape !== undefined ? (numbers('shape', o.shape) as number[]) : [...PHANTOM_SITE_SHAPE];
    say(`rendering ${perSite} phantom subjects at each of 3 simulated sites (${shape.join('×')})`);
    subjects = phantomSiteCohort({ subjects: perSite, seed: int('seed', o.seed, 0) as number, shape }).map((s) => ({
      ...s,
      role: Number(s.subjectId.split('-').pop()) < nTrain ? 'train' : 'test',
    }));
    reference = o.reference ?? PHANTOM_REFERENCE_SITE;
  } else {
    const siteDirs = parseSites(o.site);
    if (siteDirs.size < 2) throw bad('site', 'needs at least two sites (NAME=DIR), or use --phantom-sites');
    if (o.reference === undefined) throw bad('reference', 'is required with --site');
    if (!siteDirs.has(o.reference)) throw bad('reference', `must be one of the --site names (${[...siteDirs.keys()].join(', ')}), got ${JSON.stringify(o.reference)}`);
    reference = o.reference;
    const labelDirs = parseSites(o.labels, 'labels');
    if (labelDirs.size > 0) {
      const missing = [...siteDirs.keys()].filter((s) => !labelDirs.has(s));
      const extra = [...labelDirs.keys()].filter((s) => !siteDirs.has(s));
      if (missing.length > 0 || extra.length > 0) {
        throw bad('labels', `must name the same sites as --site (missing: ${missing.join(', ') || 'none'}; unknown: ${extra.join(', ') || 'none'})`);
      }
    }
    const vols = await readSites(siteDirs);
    const labels = labelDirs.size > 0 ? await readSites(labelDirs) : undefined;
    subjects = [];
    for (const [site, list] of vols) {
      const nTrain = int('train', o.train) ?? Math.floor(list.length / 2);
      const labs = labels?.get(site);
      if (labs && labs.length !== list.length) throw bad('labels', `for site ${site} holds ${labs.length} label maps for ${list.length} images (files are paired in name order)`);
      list.forEach((image, i) => {
        const l = labs?.[i];
        if (l && (l.shape.some((n, a) => n !== image.shape[a]) || l.channels !== 1)) {
          throw new VoxshiftError('GEOMETRY_MISMATCH', `--labels: ${l.meta.source ?? `${site}[${i}]`} is ${l.shape.join('×')}, its image ${image.meta.source ?? ''} is ${image.shape.join('×')}`, {
            param: 'labels',
          });
        }
        subjects.push({ site, subjectId: `${site}-${i}`, image, ...(l ? { labels: l } : {}), role: i < nTrain ? 'train' : 'test' });
      });
    }
    if (labels) {
      realLabels = { regions: commonRegions(subjects.map((s) => s.labels as Volume)), truthClasses: parseTruthClasses(o.truthClasses) };
    } else if (o.truthClasses !== undefined) throw bad('truth-classes', 'needs --labels');
  }
  // The learned anatomy measure runs where there are labels and truth classes (always for the phantom cohort).
  const learned = o.learnedAnatomy && (o.phantomSites === true || (realLabels !== undefined && realLabels.truthClasses !== null));
  if (methods.includes('cyclegan') || learned) await startBackend(o);
  await mkdir(o.out, { recursive: true });
  const steps = int('cyclegan-steps', o.cycleganSteps) as number;
  const report = await harmonizationReport({
    subjects,
    reference,
    methods,
    ...(realLabels ? { regions: realLabels.regions, truthClasses: realLabels.truthClasses, tissueClasses: null } : {}),
    learnedAnatomy: learned ? { steps: learnedSteps, seed: int('seed', o.seed, 0) as number } : false,
    cyclegan: {
      workDir: join(o.out, 'cyclegan'),
      // Small and fast (as bench/harmonize.ts): a report run is a comparison, not a production model.
      ...(() => {
        const c = cycleganConfig({ steps: String(steps), ngf: '8', blocks: '2', batch: '4', seed: o.seed, dims: '2' });
        return { ...c, config: { ...c.config, optimizer: { ...c.config.optimizer, learningRate: 1e-3 } } };
      })(),
      onStep: (site, r) => {
        if (r.step % 50 === 0 || r.step === r.totalSteps) say(`cyclegan ${site}: step ${r.step}/${r.totalSteps}`);
      },
    },
    log: say,
  });
  const { histogramPng, ...numbersOnly } = report;
  const text = formatReport(report);
  await writeFile(join(o.out, 'histograms.png'), histogramPng);
  await writeFile(join(o.out, 'report.json'), `${JSON.stringify(numbersOnly, null, 1)}\n`);
  await writeFile(join(o.out, 'report.txt'), text);
  process.stdout.write(text);
  process.stdout.write(`wrote report.json, report.txt and histograms.png to ${o.out}\n`);
}

export const registerHarmonize: RegisterCommand = (program: Command) => {
  const h = program.command('harmonize').description('make one site’s scans look like another’s: fit, apply and measure harmonizers');
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  h.command('fit')
    .description(`fit a harmonizer (${HARMONIZE_METHODS.join(', ')}) and save it as JSON`)
    .requiredOption('--method <m>', `one of ${HARMONIZE_METHODS.join(', ')}`)
    .option('--site <name=dir>', 'a site and its folder of volumes (repeat for each site)', collect)
    .option('--reference <name>', 'the site the others are mapped onto (combat: optional reference batch)')
    .requiredOption('--out <file>', 'model file (.json); cyclegan also writes <file>.cyclegan/ beside it')
    .option('--table <csv>', 'combat: feature table (columns subject, site, covariates, features)')
    .option('--features <csv>', 'combat: same as --table')
    .option('--site-column <name>', 'combat: the table’s site column', 'site')
    .option('--subject-column <name>', 'combat: the table’s subject column', 'subject')
    .option('--covariates <names>', 'combat: comma-separated covariate columns to preserve')
    .option('--no-eb', 'combat: no empirical Bayes shrinkage')
    .option('--peak <p>', 'whitestripe: white-matter peak rule, largest (default) or last')
    .option('--percentiles <list>', `nyul: landmark percentiles (default ${'1,10,...,90,99'})`)
    .option('--levels <n>', 'histmatch: quantile levels (default 1025)')
    .option('--bias-correct', 'zscore, whitestripe, nyul, histmatch: correct a multiplicative bias field (N4-like, polynomial log field) before the method, at fit and apply (recorded in the model)')
    .option('--dims <n>', 'cyclegan: 2 (slices) or 3 (patches)', '2')
    .option('--steps <n>', 'cyclegan: training steps per source site', '2000')
    .option('--ngf <n>', 'cyclegan: generator and discriminator filters', '16')
    .option('--blocks <n>', 'cyclegan: ResNet blocks', '3')
    .option('--patch <sizes>', 'cyclegan: training patch, h,w or d,h,w')
    .option('--batch <n>', 'cyclegan: batch size', '4')
    .option('--seed <n>', 'cyclegan: seed', '0')
    .option('--backend <kind>', 'auto, gpu, cpu or wasm', 'auto')
    .option('--threads <n>', 'WebAssembly threads (default: cores)')
    .action(fitCommand);
  h.command('apply')
    .description('apply a saved harmonizer to a volume (combat: to a CSV feature table)')
    .argument('[in]', 'input volume (or CSV table for combat)')
    .argument('[out]', 'output file (or CSV for combat)')
    .requiredOption('--model <file>', 'model written by `harmonize fit`')
    .option('--table <csv>', 'combat: input feature table (instead of IN)')
    .option('--out <file>', 'output (instead of OUT)')
    .option('--site-column <name>', 'combat: the table’s site column', 'site')
    .option('--subject-column <name>', 'combat: the table’s subject column', 'subject')
    .option('--site <name>', 'the input’s site (needed by cyclegan models with several source sites)')
    .option('--mask <file>', 'foreground mask on the input grid (default: the body mask)')
    .option('--overwrite', 'replace an existing output')
    .option('--backend <kind>', 'auto, gpu, cpu or wasm', 'auto')
    .option('--threads <n>', 'WebAssembly threads (default: cores)')
    .action(applyCommand);
  h.command('report')
    .description('fit every method on training subjects and compare them on held-out subjects (histograms, Wasserstein, site classifier, tissue Dice)')
    .option('--phantom-sites', 'use the built-in 3-site phantom cohort (with ground-truth labels)')
    .option('--site <name=dir>', 'a site and its folder of volumes (repeat; at least two)', collect)
    .option('--labels <name=dir>', 'a site’s folder of label maps, paired with its images in file-name order (repeat per site)', collect)
    .option('--truth-classes <id=class,...>', 'with --labels: label id → dark, fat, soft or fluid, for Dice of validation’s MR segmenter against the labels')
    .option('--reference <name>', `reference site (phantom: ${PHANTOM_REFERENCE_SITE})`)
    .requiredOption('--out <dir>', 'folder for report.json, report.txt and histograms.png')
    .option('--methods <list>', `comma-separated, in table order (default ${HARMONIZE_METHODS.filter((m) => m !== 'cyclegan').join(',')}; add cyclegan to train it; zscore+n4, whitestripe+n4, nyul+n4, histmatch+n4 correct the bias field first)`)
    .option('--subjects <n>', 'phantom: subjects per site', '10')
    .option('--train <n>', 'training subjects per site (default: half); the rest are held out')
    .option('--shape <i,j,k>', `phantom grid (default ${PHANTOM_SITE_SHAPE.join(',')})`)
    .option('--seed <n>', 'phantom cohort and cyclegan seed', '1')
    .option('--cyclegan-steps <n>', 'training steps per cyclegan model', '200')
    .option('--learned-anatomy-steps <n>', 'training steps of the reference-site U-Net whose Dice vs truth the report shows (with --phantom-sites, or --labels and --truth-classes)', '1000')
    .option('--no-learned-anatomy', 'no reference-site U-Net column')
    .option('--backend <kind>', 'auto, gpu, cpu or wasm', 'auto')
    .option('--threads <n>', 'WebAssembly threads (default: cores)')
    .action(reportCommand);
};
