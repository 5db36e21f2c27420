// The customer table for activation, written to a file: chosen columns of customer_scores (or an item output, or the recommendations), optionally one RFM or saved segment; what `kairos export`, `kairos segment export` and the API's downloads write.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KairosError } from '../errors.js';
import { recommendationsSql, type RecommendationShape } from './recommend/stored.js';
import type { ScoreRegistry } from './registry.js';
import { itemsTable, storedResults } from './results.js';
import type { Scorer } from './types.js';
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { compileSegmentFilter, getSegment } from '../segments/segments.js';

export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRowsOptions {
  readonly format: ExportFormat;
  /** The file to write (absolute or relative to the working directory). */
  readonly file: string;
  readonly columns?: readonly string[];
  /** Only the customers of this RFM segment. */
  readonly segment?: string;
  /** Only the customers of this saved segment, its filter compiled with bound values. */
  readonly savedSegment?: string;
  /** An item output's long table instead of customer_scores: customer_id, rank, key, value, reason. */
  readonly items?: string;
  /** The stored recommendations instead of customer_scores: a row per customer and product (long) or per customer (wide). */
  readonly recommendations?: RecommendationShape;
  readonly registry: ScoreRegistry;
}

/**
 * Writes customer_scores (chosen columns, optionally one RFM or saved segment), or with `items` an item output's rows
 * (best first per customer), or the recommendations, to a CSV, Parquet or NDJSON file; returns the rows written. List
 * and map columns are written natively to Parquet and NDJSON, as text to CSV. Runs on the caller's store (read-only
 * is enough: its temp table is the connection's own).
 */
export async function exportRows(store: Store, options: ExportRowsOptions): Promise<{ rows: number; columns: string[] }> {
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw new KairosError('USAGE', `invalid format "${options.format}" (expected one of ${EXPORT_FORMATS.join(', ')})`);
  }
  if (options.items !== undefined && options.recommendations !== undefined) throw new KairosError('USAGE', 'give --items or --recommendations, not both');
  const registry = options.registry;
  const outputs = registry.scorers.flatMap((s) => s.items ?? []);
  const output = options.items === undefined ? undefined : outputs.find((o) => o.name === options.items);
  if (options.items !== undefined && output === undefined) {
    throw new KairosError('USAGE', `unknown item output "${options.items}" (available: ${outputs.map((o) => o.name).join(', ') || 'none'})`);
  }
  let source = 'customer_scores';
  let order = output === undefined ? 'customer_id' : 'customer_id, rank';
  if (options.recommendations !== undefined) ({ sql: source, order } = await recommendationsSql(store, registry, options.recommendations));
  if (output !== undefined) {
    // The published run's rows only (a killed run may have left others until the next run removes them).
    const owner = registry.scorers.find((s) => (s.items ?? []).includes(output)) as Scorer;
    const published = (await storedResults(store, registry)).get(owner.name)?.runId ?? -1;
    source = `(SELECT * EXCLUDE (run_id) FROM ${quoteIdentifier(itemsTable(output.name))} WHERE run_id = ${published})`;
  }
  const available = (await store.all<{ column_name: string }>(`DESCRIBE ${source}`)).map((c) => c.column_name);
  const columns = options.columns && options.columns.length > 0 ? [...options.columns] : available;
  const unknown = columns.filter((c) => !available.includes(c));
  if (unknown.length) throw new KairosError('USAGE', `unknown column(s) ${unknown.join(', ')} (available: ${available.join(', ')})`);
  const conditions: string[] = [];
  const params: (string | number | boolean)[] = [];
  if (options.segment !== undefined) {
    conditions.push('customer_id IN (SELECT customer_id FROM customer_scores WHERE rfm_segment = ?)');
    params.push(options.segment);
  }
  if (options.savedSegment !== undefined) {
    const compiled = await compileSegmentFilter(store, (await getSegment(store, options.savedSegment)).filter);
    conditions.push(`customer_id IN (SELECT customer_id FROM customer_scores WHERE ${compiled.sql})`);
    params.push(...compiled.params);
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  mkdirSync(dirname(options.file), { recursive: true });
  const fmt = options.format === 'csv' ? 'FORMAT csv, HEADER' : options.format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json';
  // COPY takes no bound parameters: the rows are selected first, the segment bound, into a temp table.
  await store.run(`CREATE OR REPLACE TEMP TABLE __export AS SELECT ${columns.map(quoteIdentifier).join(', ')} FROM ${source} ${where} ORDER BY ${order}`, params);
  try {
    const rows = Number(await store.value('SELECT count(*) FROM __export'));
    await store.run(`COPY __export TO ${quoteLiteral(options.file)} (${fmt})`);
    return { rows, columns };
  } finally {
    await store.run('DROP TABLE IF EXISTS __export');
  }
}
