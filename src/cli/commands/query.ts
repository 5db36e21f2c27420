// `kairos sql` and `kairos export`: read the store as an analyst, write the customer table for activation.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { KairosError } from '../../errors.js';
import type { ScoreRegistry } from '../../scores/registry.js';
import { formatCount } from '../../util/format.js';
import { printJson, renderTable, type GlobalOptions, type Io } from '../io.js';

export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  readonly format: ExportFormat;
  readonly out: string;
  readonly columns?: readonly string[];
  readonly segment?: string;
  /** An item output's long table instead of customer_scores: customer_id, rank, key, value, reason. */
  readonly items?: string;
  /** Where item outputs are looked up (default: the scorers Kairos ships). */
  readonly registry?: ScoreRegistry;
}

/**
 * Writes customer_scores (chosen columns, optionally one RFM segment), or with `items` an item output's rows (best
 * first per customer), to a CSV, Parquet or NDJSON file; returns the rows written. List and map columns are written
 * natively to Parquet and NDJSON, as text to CSV.
 */
export async function exportScores(db: string, options: ExportOptions): Promise<{ file: string; rows: number; columns: string[] }> {
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw new KairosError('USAGE', `invalid format "${options.format}" (expected one of ${EXPORT_FORMATS.join(', ')})`);
  }
  const [{ DEFAULT_REGISTRY }, { itemsTable }, { quoteIdentifier, quoteLiteral, withStore }] = await Promise.all([
    import('../../scores/registry.js'),
    import('../../scores/results.js'),
    import('../../store/db.js'),
  ]);
  const outputs = (options.registry ?? DEFAULT_REGISTRY).scorers.flatMap((s) => s.items ?? []);
  const output = options.items === undefined ? undefined : outputs.find((o) => o.name === options.items);
  if (options.items !== undefined && output === undefined) {
    throw new KairosError('USAGE', `unknown item output "${options.items}" (available: ${outputs.map((o) => o.name).join(', ') || 'none'})`);
  }
  return withStore(db, async (store) => {
    const source = output === undefined ? 'customer_scores' : quoteIdentifier(itemsTable(output.name));
    const available = (await store.all<{ column_name: string }>(`DESCRIBE ${source}`)).map((c) => c.column_name);
    const columns = options.columns && options.columns.length > 0 ? [...options.columns] : available;
    const unknown = columns.filter((c) => !available.includes(c));
    if (unknown.length) throw new KairosError('USAGE', `unknown column(s) ${unknown.join(', ')} (available: ${available.join(', ')})`);
    const segment = 'customer_id IN (SELECT customer_id FROM customer_scores WHERE rfm_segment = $1)';
    const where = options.segment === undefined ? '' : `WHERE ${segment}`;
    const params = options.segment === undefined ? [] : [options.segment];
    const order = output === undefined ? 'customer_id' : 'customer_id, rank';
    const file = resolve(options.out);
    mkdirSync(dirname(file), { recursive: true });
    const fmt = options.format === 'csv' ? 'FORMAT csv, HEADER' : options.format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json';
    // COPY takes no bound parameters: the rows are selected first, the segment bound, into a temp table.
    await store.run(`CREATE OR REPLACE TEMP TABLE __export AS SELECT ${columns.map(quoteIdentifier).join(', ')} FROM ${source} ${where} ORDER BY ${order}`, params);
    const rows = Number(await store.value('SELECT count(*) FROM __export'));
    await store.run(`COPY __export TO ${quoteLiteral(file)} (${fmt})`);
    return { file, rows, columns };
  });
}

export function registerQuery(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('sql')
    .description('run one read-only SELECT on the store (tables and the customer_scores view)')
    .argument('<query>', 'e.g. "SELECT rfm_segment, count(*) FROM customer_scores GROUP BY 1"')
    .option('--limit <n>', 'rows to print at most (tables only)', '100')
    .action(async (query: string, flags: { limit: string }) => {
      const g = global();
      const { withStore } = await import('../../store/db.js');
      const result = await withStore(g.db, (store) => store.readOnlyQuery(query, g.json ? undefined : Number(flags.limit) + 1), {
        readOnly: true,
        noExternalAccess: true,
      });
      if (g.json) return printJson(io, result.rows);
      const limit = Number(flags.limit);
      io.out(renderTable(result.columns, result.rows.slice(0, limit)));
      io.out(result.rows.length > limit ? `(first ${limit} rows; use --limit or --json for more)` : `(${formatCount(result.rows.length)} rows)`);
    });

  program
    .command('export')
    .description('write customer_scores (customer attributes and latest scores) to a file for activation')
    .option('--format <fmt>', `one of ${EXPORT_FORMATS.join(', ')}`, 'csv')
    .option('--out <file>', 'output file (default: customer_scores.<format>)')
    .option('--columns <names>', 'comma-separated columns (default: all)')
    .option('--segment <name>', 'only customers of this RFM segment, e.g. "At risk"')
    .option('--items <output>', 'write an item output (one row per customer and item: customer_id, rank, key, value, reason) instead')
    .action(async (flags: { format: string; out?: string; columns?: string; segment?: string; items?: string }) => {
      const g = global();
      const format = flags.format as ExportFormat;
      const result = await exportScores(g.db, {
        format,
        out: flags.out ?? `${flags.items ?? 'customer_scores'}.${format === 'json' ? 'ndjson' : format}`,
        ...(flags.items !== undefined ? { items: flags.items } : {}),
        ...(flags.columns ? { columns: flags.columns.split(',').map((c) => c.trim()) } : {}),
        ...(flags.segment !== undefined ? { segment: flags.segment } : {}),
      });
      if (g.json) printJson(io, result);
      else io.out(`wrote ${formatCount(result.rows)} ${flags.items === undefined ? 'customers' : 'rows'} x ${result.columns.length} columns to ${result.file}`);
    });
}
