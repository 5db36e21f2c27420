// Exports for activation: customer_scores (chosen columns, a saved segment, a CRM-friendly wide table), an item output or
// the recommendations, written by DuckDB to a CSV, Parquet or NDJSON file. `kairos export`, `kairos segment export` and
// the dashboard's downloads go through here.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KairosError } from '../errors.js';
import { compileSegmentFilter, getSegment } from '../segments/segments.js';
import { quoteIdentifier, quoteLiteral, type SqlValue, type Store } from '../store/db.js';
import { recommendationsSql, type RecommendationShape } from './recommend/stored.js';
import type { ScoreRegistry } from './registry.js';
import { itemsTable, storedResults } from './results.js';
import type { Scorer } from './types.js';
import { EXPORT_FORMATS, type ExportFormat } from '../util/format.js';


/** The columns of the CRM table when none are chosen, in this order (those the store has). */
export const CRM_DEFAULT_COLUMNS = [
  'customer_id',
  'email',
  'country',
  'rfm_segment',
  'lifecycle_stage',
  'clv_12m',
  'churn_risk',
  'p_alive',
  'expected_purchases_90d',
  'conversion_probability_30d',
  'next_order_date',
  'churn_decisive_date',
  'engagement_label',
  'promo_label',
  'recommendations_1',
  'recommendations_2',
  'recommendations_3',
] as const;

/** A key of the customers' attributes JSON asked for as a column: `attributes.KEY`, written as `attribute_key`. */
const ATTRIBUTE = /^attributes\.([A-Za-z0-9_]{1,64})$/;

export interface ExportRowsOptions {
  readonly format: ExportFormat;
  /** The file DuckDB writes (its folder is created). */
  readonly file: string;
  readonly registry: ScoreRegistry;
  /** Columns in this order (default: all; with `crm`, CRM_DEFAULT_COLUMNS). With `crm`, `attributes.KEY` too. */
  readonly columns?: readonly string[];
  /** Only customers of this RFM segment. */
  readonly rfmSegment?: string;
  /** Only the customers of this saved segment (its filter compiled with bound values). */
  readonly savedSegment?: string;
  /** An item output's long table instead of customer_scores: customer_id, rank, key, value, reason. */
  readonly items?: string;
  /** The stored recommendations instead of customer_scores: a row per customer and product (long) or per customer (wide). */
  readonly recommendations?: RecommendationShape;
  /**
   * A CRM-friendly wide table of customer_scores: one row per customer, flat columns only (lists, maps and JSON are
   * refused, naming their flat columns), attributes as `attribute_KEY`, timestamps as ISO 8601 UTC text.
   */
  readonly crm?: boolean;
}

/** The columns of a relation with their DuckDB types. */
async function describe(store: Store, source: string): Promise<Map<string, string>> {
  return new Map((await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${source}`)).map((c) => [c.column_name, c.column_type]));
}

const FLAT = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*|VARCHAR|DATE|TIMESTAMP.*)$/i;

/** The select list of the CRM table: stable names, flat values (bound JSON paths for attributes). */
function crmSelect(columns: readonly string[], types: Map<string, string>): { select: string[]; params: SqlValue[]; names: string[] } {
  const select: string[] = [];
  const params: SqlValue[] = [];
  const names: string[] = [];
  for (const c of columns) {
    const attribute = ATTRIBUTE.exec(c);
    if (attribute) {
      const name = `attribute_${(attribute[1] as string).toLowerCase()}`;
      select.push(`json_extract_string(attributes, ?) AS ${quoteIdentifier(name)}`);
      params.push(`$."${attribute[1] as string}"`);
      names.push(name);
      continue;
    }
    const type = types.get(c) as string;
    if (!FLAT.test(type)) {
      const flat = [...types.keys()].filter((k) => k.startsWith(`${c}_`) && FLAT.test(types.get(k) as string));
      throw new KairosError('USAGE', `column ${c} is a ${type}, not one value per customer: a CRM table takes flat columns only`, {
        hint: flat.length > 0 ? `its flat columns: ${flat.join(', ')}` : c === 'attributes' ? 'name the keys: attributes.KEY' : 'leave it out',
      });
    }
    const q = quoteIdentifier(c);
    select.push(/^TIMESTAMP/i.test(type) ? `strftime(${q}, '%Y-%m-%dT%H:%M:%SZ') AS ${q}` : q);
    names.push(c);
  }
  return { select, params, names };
}

/**
 * Writes the rows to `options.file` with DuckDB's COPY (ordered by customer): customer_scores (chosen columns,
 * optionally one RFM segment or a saved segment), an item output, or the recommendations. List and map columns are
 * written natively to Parquet and NDJSON, as text to CSV; the CRM table has flat columns only. Returns the rows and
 * the columns written.
 */
export async function exportRows(store: Store, options: ExportRowsOptions): Promise<{ rows: number; columns: string[] }> {
  if (!EXPORT_FORMATS.includes(options.format)) throw new KairosError('USAGE', `invalid format "${options.format}" (expected one of ${EXPORT_FORMATS.join(', ')})`);
  if (options.items !== undefined && options.recommendations !== undefined) throw new KairosError('USAGE', 'give --items or --recommendations, not both');
  if (options.crm && (options.items !== undefined || options.recommendations !== undefined)) throw new KairosError('USAGE', 'the CRM table is of customer_scores: not with --items or --recommendations');
  const { registry } = options;
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
    source = `(SELECT * EXCLUDE (run_id) FROM ${quoteIdentifier(itemsTable(output.name))} WHERE run_id = ${Math.floor(published)})`;
  }
  const types = await describe(store, source);
  const available = [...types.keys()];
  const chosen = options.columns && options.columns.length > 0 ? [...options.columns] : options.crm ? CRM_DEFAULT_COLUMNS.filter((c) => types.has(c)) : available;
  const unknown = chosen.filter((c) => !types.has(c) && !(options.crm && ATTRIBUTE.test(c)));
  if (unknown.length) {
    throw new KairosError('USAGE', `unknown column(s) ${unknown.join(', ')} (available: ${available.join(', ')}${options.crm ? ', attributes.KEY' : ''})`);
  }
  const duplicates = chosen.filter((c, i) => chosen.indexOf(c) !== i);
  if (duplicates.length) throw new KairosError('USAGE', `column(s) named twice: ${[...new Set(duplicates)].join(', ')}`);
  const { select, params, names } = options.crm ? crmSelect(chosen, types) : { select: chosen.map(quoteIdentifier), params: [] as SqlValue[], names: chosen };

  const conditions: string[] = [];
  if (options.rfmSegment !== undefined) {
    conditions.push('customer_id IN (SELECT customer_id FROM customer_scores WHERE rfm_segment = ?)');
    params.push(options.rfmSegment);
  }
  if (options.savedSegment !== undefined) {
    const compiled = await compileSegmentFilter(store, (await getSegment(store, options.savedSegment)).filter);
    conditions.push(`customer_id IN (SELECT customer_id FROM customer_scores WHERE ${compiled.sql})`);
    params.push(...compiled.params);
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  const file = resolve(options.file);
  mkdirSync(dirname(file), { recursive: true });
  const fmt = options.format === 'csv' ? 'FORMAT csv, HEADER' : options.format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json';
  // COPY takes no bound parameters: the rows are selected first, the values bound, into a temp table.
  await store.run(`CREATE OR REPLACE TEMP TABLE __export AS SELECT ${select.join(', ')} FROM ${source} ${where} ORDER BY ${order}`, params);
  try {
    const rows = Number(await store.value('SELECT count(*) FROM __export'));
    await store.run(`COPY __export TO ${quoteLiteral(file)} (${fmt})`);
    return { rows, columns: names };
  } finally {
    await store.run('DROP TABLE IF EXISTS __export');
  }
}
