/**
 * Feature tables for ComBat: one row per subject (id, site, biological covariates, features), read
 * from and written to CSV. Covariates are numeric (age, intracranial volume) or categorical (sex,
 * diagnosis; any non-numeric value makes the column categorical).
 *
 * CSV layout: a header row; columns `subject` and `site` (required, any position; other names via
 * `columns`), the covariate
 * columns the caller names, and every other column a numeric feature. Fields are comma-separated;
 * a field may be double-quoted ("" is a quote inside); blank lines are skipped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { VoxshiftError } from '../volumes/errors.ts';

export type CovariateColumn = number[] | string[];

export interface FeatureTable {
  subjects: string[];
  sites: string[];
  features: string[];
  /** values[i][j]: subject i, feature j. */
  values: number[][];
  /** Covariate name → one value per subject (all numbers or all strings). */
  covariates: Record<string, CovariateColumn>;
}

function bad(message: string, details?: Record<string, unknown>, file?: string): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', message, { param: 'table', ...(details ? { details } : {}), ...(file !== undefined ? { file } : {}) });
}

/** Checks shapes, names and finiteness; returns the table. */
export function validateFeatureTable(t: FeatureTable, file?: string): FeatureTable {
  if (t === null || typeof t !== 'object') throw bad('the feature table must be an object', undefined, file);
  const n = t.subjects?.length;
  if (!Array.isArray(t.subjects) || n === 0) throw bad('the feature table has no subjects', undefined, file);
  if (!Array.isArray(t.sites) || t.sites.length !== n) throw bad(`the feature table has ${n} subjects but ${t.sites?.length ?? 0} site entries`, undefined, file);
  if (!Array.isArray(t.features) || t.features.length === 0) throw bad('the feature table has no feature columns', undefined, file);
  if (new Set(t.features).size !== t.features.length) throw bad(`feature names repeat: ${t.features.join(', ')}`, undefined, file);
  if (new Set(t.subjects).size !== n) throw bad('subject ids must be unique', undefined, file);
  if (!Array.isArray(t.values) || t.values.length !== n) throw bad(`the feature table has ${n} subjects but ${t.values?.length ?? 0} rows of values`, undefined, file);
  t.values.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== t.features.length) {
      throw bad(`row ${i} (${t.subjects[i]}) has ${row?.length ?? 0} values, expected ${t.features.length}`, { subject: t.subjects[i] }, file);
    }
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new VoxshiftError('NON_FINITE_VALUES', `feature ${t.features[j]} of subject ${t.subjects[i]} is ${String(v)}; features must be finite numbers`, {
          param: 'table',
          details: { subject: t.subjects[i], feature: t.features[j] },
          ...(file !== undefined ? { file } : {}),
        });
      }
    });
  });
  for (const [name, col] of Object.entries(t.covariates ?? {})) {
    if (!Array.isArray(col) || col.length !== n) throw bad(`covariate ${name} has ${col?.length ?? 0} values, expected ${n}`, undefined, file);
    const numeric = col.every((v) => typeof v === 'number');
    const text = col.every((v) => typeof v === 'string');
    if (!numeric && !text) throw bad(`covariate ${name} mixes numbers and text`, undefined, file);
    if (numeric && !(col as number[]).every(Number.isFinite)) throw bad(`covariate ${name} has a non-finite value`, undefined, file);
  }
  return t;
}

/** One CSV line → fields (RFC 4180 quoting). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            s += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else s += line[i++];
      }
      out.push(s);
      if (line[i] === ',') i++;
      else break;
    } else {
      const j = line.indexOf(',', i);
      if (j < 0) {
        out.push(line.slice(i).trim());
        break;
      }
      out.push(line.slice(i, j).trim());
      i = j + 1;
    }
  }
  return out;
}

/** Names of the subject and site columns (default `subject` and `site`). */
export interface CsvColumns {
  subject?: string;
  site?: string;
}

/** Parses CSV text (see the module comment); `covariates` names the covariate columns. */
export function parseFeatureCsv(text: string, covariates: readonly string[] = [], file?: string, columns: CsvColumns = {}): FeatureTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length < 2) throw bad('the CSV needs a header row and at least one subject row', undefined, file);
  const header = splitCsvLine(lines[0]);
  const col = (name: string): number => {
    const k = header.indexOf(name);
    if (k < 0) throw bad(`the CSV has no "${name}" column (columns: ${header.join(', ')})`, { column: name }, file);
    return k;
  };
  const subjectCol = col(columns.subject ?? 'subject');
  const siteCol = col(columns.site ?? 'site');
  for (const c of covariates) {
    if (c === header[subjectCol] || c === header[siteCol]) throw bad(`covariate ${JSON.stringify(c)} is the subject or site column`, { column: c }, file);
  }
  const covCols = covariates.map((c) => col(c));
  const featureCols = header.map((_, k) => k).filter((k) => k !== subjectCol && k !== siteCol && !covCols.includes(k));
  const table: FeatureTable = { subjects: [], sites: [], features: featureCols.map((k) => header[k]), values: [], covariates: {} };
  const rawCov: string[][] = covariates.map(() => []);
  lines.slice(1).forEach((line, r) => {
    const f = splitCsvLine(line);
    if (f.length !== header.length) throw bad(`CSV row ${r + 2} has ${f.length} fields, the header has ${header.length}`, { row: r + 2 }, file);
    table.subjects.push(f[subjectCol]);
    table.sites.push(f[siteCol]);
    table.values.push(
      featureCols.map((k) => {
        const v = f[k] === '' ? NaN : Number(f[k]);
        if (!Number.isFinite(v)) {
          throw new VoxshiftError('NON_FINITE_VALUES', `CSV row ${r + 2}, column ${header[k]}: ${JSON.stringify(f[k])} is not a finite number`, {
            param: 'table',
            details: { row: r + 2, column: header[k] },
            ...(file !== undefined ? { file } : {}),
          });
        }
        return v;
      }),
    );
    covCols.forEach((k, c) => rawCov[c].push(f[k]));
  });
  covariates.forEach((name, c) => {
    const raw = rawCov[c];
    const nums = raw.map((s) => (s === '' ? NaN : Number(s)));
    table.covariates[name] = nums.every(Number.isFinite) ? nums : raw;
  });
  return validateFeatureTable(table, file);
}

function csvField(v: string | number): string {
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text of a table: subject, site, covariates, features (numbers in shortest round-trip form). */
export function formatFeatureCsv(t: FeatureTable, columns: CsvColumns = {}): string {
  const covNames = Object.keys(t.covariates);
  const rows = [[columns.subject ?? 'subject', columns.site ?? 'site', ...covNames, ...t.features].map(csvField).join(',')];
  t.subjects.forEach((s, i) => {
    rows.push([s, t.sites[i], ...covNames.map((c) => t.covariates[c][i]), ...t.values[i]].map(csvField).join(','));
  });
  return `${rows.join('\n')}\n`;
}

export async function readFeatureCsv(path: string, covariates: readonly string[] = [], columns: CsvColumns = {}): Promise<FeatureTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VoxshiftError('FILE_NOT_FOUND', `cannot read the feature table (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: path, cause: e });
  }
  return parseFeatureCsv(text, covariates, path, columns);
}

export async function writeFeatureCsv(t: FeatureTable, path: string, columns: CsvColumns = {}): Promise<void> {
  await writeFile(path, formatFeatureCsv(t, columns));
}

/** The rows of `t` at `indices`, in that order. */
export function selectRows(t: FeatureTable, indices: readonly number[]): FeatureTable {
  const covariates: Record<string, CovariateColumn> = {};
  for (const [k, col] of Object.entries(t.covariates)) covariates[k] = indices.map((i) => col[i]) as CovariateColumn;
  return {
    subjects: indices.map((i) => t.subjects[i]),
    sites: indices.map((i) => t.sites[i]),
    features: [...t.features],
    values: indices.map((i) => [...t.values[i]]),
    covariates,
  };
}
