// `kairos sql` and `kairos export`: read the store as an analyst, write the customer table for activation.
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { KairosError } from '../../errors.js';
import type { ScoreRegistry } from '../../scores/registry.js';
import type { RecommendationShape } from '../../scores/recommend/stored.js';
import { formatCount } from '../../util/format.js';
import type { StoreOptions } from '../../store/db.js';
import { printJson, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';
import { positiveInteger } from '../options.js';

export { EXPORT_FORMATS, type ExportFormat } from '../../util/format.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../util/format.js';

export interface ExportOptions {
  readonly format: ExportFormat;
  /** The file to write, or STDOUT ('-') to hand the text to `write` (CSV and NDJSON only). */
  readonly out: string;
  /** Where the text goes when `out` is '-' (the CLI's stdout). */
  readonly write?: (text: string) => void;
  readonly columns?: readonly string[];
  readonly segment?: string;
  /** Only the customers of this saved segment (src/segments), its filter compiled with bound values. */
  readonly savedSegment?: string;
  /** An item output's long table instead of customer_scores: customer_id, rank, key, value, reason. */
  readonly items?: string;
  /** The stored recommendations instead of customer_scores: a row per customer and product (long) or per customer (wide). */
  readonly recommendations?: RecommendationShape;
  /** A CRM-friendly wide table: flat columns, attributes.KEY as attribute_key, ISO timestamps (src/scores/export.ts). */
  readonly crm?: boolean;
  /** Where item outputs are looked up (default: the scorers Kairos ships). */
  readonly registry?: ScoreRegistry;
  /** How long to wait for a store another process is writing to (default: fail at once). */
  readonly wait?: Pick<StoreOptions, 'waitSeconds' | 'onWait'>;
}

/** `--out -`: the rows go to stdout. */
export const STDOUT = '-';

/** Hands a text file to `write` in pieces that end at a line end, without holding the whole file. */
function streamLines(file: string, write: (text: string) => void): void {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      pending += decoder.write(buffer.subarray(0, n));
      const end = pending.lastIndexOf('\n') + 1;
      if (end > 0) {
        write(pending.slice(0, end));
        pending = pending.slice(end);
      }
    }
    pending += decoder.end();
    if (pending) write(pending);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes customer_scores (chosen columns, optionally one RFM segment), or with `items` an item output's rows (best
 * first per customer), to a CSV, Parquet or NDJSON file, or as CSV or NDJSON text to `write` (`out` '-'); returns
 * the rows written. List and map columns are written natively to Parquet and NDJSON, as text to CSV.
 */
export async function exportScores(db: string, options: ExportOptions): Promise<{ file: string; rows: number; columns: string[] }> {
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw new KairosError('USAGE', `invalid format "${options.format}" (expected one of ${EXPORT_FORMATS.join(', ')})`);
  }
  const toStdout = options.out === STDOUT;
  if (toStdout && options.format === 'parquet') {
    throw new KairosError('USAGE', 'Parquet is not written to stdout (a Parquet file is read from its end): give --out FILE.parquet');
  }
  if (toStdout && options.write === undefined) throw new KairosError('INTERNAL', 'export to stdout without a writer');
  const [{ DEFAULT_REGISTRY }, { withStore }, { exportRows }] = await Promise.all([
    import('../../scores/registry.js'),
    import('../../store/db.js'),
    import('../../scores/export.js'),
  ]);
  return withStore(
    db,
    async (store) => {
      // DuckDB writes files only: text for stdout goes through a scratch file, then to `write` line by line.
      const scratch = toStdout ? mkdtempSync(join(tmpdir(), 'kairos-export-')) : undefined;
      const file = scratch === undefined ? resolve(options.out) : join(scratch, `export.${options.format}`);
      try {
        const { rows, columns } = await exportRows(store, {
          format: options.format,
          file,
          registry: options.registry ?? DEFAULT_REGISTRY,
          ...(options.columns !== undefined ? { columns: options.columns } : {}),
          ...(options.segment !== undefined ? { rfmSegment: options.segment } : {}),
          ...(options.savedSegment !== undefined ? { savedSegment: options.savedSegment } : {}),
          ...(options.items !== undefined ? { items: options.items } : {}),
          ...(options.recommendations !== undefined ? { recommendations: options.recommendations } : {}),
          ...(options.crm ? { crm: true } : {}),
        });
        if (scratch !== undefined && options.write !== undefined) streamLines(file, options.write);
        return { file: scratch === undefined ? file : STDOUT, rows, columns };
      } finally {
        if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
      }
    },
    // Read-only, as `kairos sql`: exports run beside other readers and while a score computes (its temp table is the
    // connection's own).
    { readOnly: true, ...options.wait },
  );
}

export function registerQuery(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('sql')
    .description('run one read-only SELECT on the store (tables and the customer_scores view)')
    .argument('<query>', 'e.g. "SELECT rfm_segment, count(*) FROM customer_scores GROUP BY 1"')
    .option('--limit <n>', 'rows to print at most (tables only)', positiveInteger, 100)
    .action(async (query: string, flags: { limit: number }) => {
      const g = global();
      const { withStore } = await import('../../store/db.js');
      const result = await withStore(g.db, (store) => store.readOnlyQuery(query, g.json ? undefined : flags.limit + 1), {
        readOnly: true,
        noExternalAccess: true,
        ...storeWait(io, g),
      });
      if (g.json) return printJson(io, result.rows);
      const limit = flags.limit;
      io.out(renderTable(result.columns, result.rows.slice(0, limit)));
      io.out(result.rows.length > limit ? `(first ${limit} rows; use --limit or --json for more)` : `(${formatCount(result.rows.length)} rows)`);
    });

  program
    .command('export')
    .description('write customer_scores (customer attributes and latest scores) to a file for activation')
    .option('--format <fmt>', `one of ${EXPORT_FORMATS.join(', ')}`, 'csv')
    .option('--out <file>', 'output file, or - for stdout (CSV and JSON only)')
    .option('--columns <names>', 'comma-separated columns (default: all)')
    .option('--segment <name>', 'only customers of this RFM segment, e.g. "At risk"')
    .option('--items <output>', 'write an item output (one row per customer and item: customer_id, rank, key, value, reason) instead')
    .option('--recommendations', 'write the stored recommendations instead, with product names (see --shape)')
    .option('--shape <shape>', 'with --recommendations: long (a row per customer and product) or wide (a row per customer)', 'long')
    .addHelpText(
      'after',
      `
Without --out, CSV and JSON (one object per line) go to stdout when it is not a terminal (kairos export | gzip > x.csv.gz),
and to ./customer_scores.csv (.ndjson) when it is. Parquet always goes to a file (default ./customer_scores.parquet).`,
    )
    .action(async (flags: { format: string; out?: string; columns?: string; segment?: string; items?: string; recommendations?: boolean; shape: string }) => {
      const g = global();
      const format = flags.format as ExportFormat;
      if (!flags.recommendations && flags.shape !== 'long') throw new KairosError('USAGE', '--shape goes with --recommendations');
      const shape = flags.recommendations ? (flags.shape as RecommendationShape) : undefined;
      const name = shape !== undefined ? `recommendations_${shape}` : (flags.items ?? 'customer_scores');
      const toStdout = flags.out === STDOUT || (flags.out === undefined && !io.outIsTty && format !== 'parquet');
      const result = await exportScores(g.db, {
        format,
        out: toStdout ? STDOUT : (flags.out ?? `${name}.${format === 'json' ? 'ndjson' : format}`),
        write: io.out,
        wait: storeWait(io, g),
        ...(flags.items !== undefined ? { items: flags.items } : {}),
        ...(shape !== undefined ? { recommendations: shape } : {}),
        ...(flags.columns ? { columns: flags.columns.split(',').map((c) => c.trim()) } : {}),
        ...(flags.segment !== undefined ? { segment: flags.segment } : {}),
      });
      const summary = `wrote ${formatCount(result.rows)} ${flags.items === undefined && shape !== 'long' ? 'customers' : 'rows'} x ${result.columns.length} columns to ${toStdout ? 'stdout' : result.file}`;
      // With the rows on stdout, nothing else goes there: the summary goes to stderr.
      if (toStdout) {
        if (!g.quiet && !g.json) io.err(summary);
      } else if (g.json) printJson(io, result);
      else io.out(summary);
    });
}
