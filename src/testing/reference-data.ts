// Loads the CDNOW reference summaries (../shared) for the reference tests: columnar, as the models take them.
import { readFileSync } from 'node:fs';
import { sharedData, sharedPeers } from './shared-data.js';
import type { SpendData, TransactionSummary } from '../models/types.js';

/** Parses a numeric CSV into named Float64Array columns. */
function readNumericCsv(path: string): Record<string, Float64Array> {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = (lines[0] ?? '').split(',');
  const columns: Record<string, Float64Array> = {};
  for (const name of header) columns[name] = new Float64Array(lines.length - 1);
  for (let i = 1; i < lines.length; i++) {
    const cells = (lines[i] as string).split(',');
    header.forEach((name, j) => {
      (columns[name] as Float64Array)[i - 1] = Number(cells[j]);
    });
  }
  return columns;
}

/** Column of a parsed CSV, or an error naming the file and column. */
function column(cols: Record<string, Float64Array>, name: string, file: string): Float64Array {
  const c = cols[name];
  if (c === undefined) throw new Error(`${file}: no column ${name}`);
  return c;
}

/**
 * lifetimes 0.11.3 on the CDNOW 1/10 sample (peers/lifetimes_cdnow_sample_predictions.csv): the 39-week calibration
 * summary (weeks), and the reference's per-customer predictions by column name.
 */
export function loadLifetimesCdnow(): { summary: TransactionSummary; spend: SpendData; column: (name: string) => Float64Array } {
  const file = 'lifetimes_cdnow_sample_predictions.csv';
  const cols = readNumericCsv(sharedPeers(file));
  const get = (name: string): Float64Array => column(cols, name, file);
  return {
    summary: { x: get('frequency_cal'), tx: get('recency_cal'), T: get('T_cal') },
    spend: { x: get('frequency_cal'), m: get('monetary_value_cal') },
    column: get,
  };
}

/** The BG/NBD paper's own summary (data/cdnow/cdnow_sample_summary_39wk_calibration.csv: x, t_x, T in weeks, 2 decimals). */
export function loadFhlCdnowSummary(): { summary: TransactionSummary; spend: SpendData } {
  const file = 'cdnow_sample_summary_39wk_calibration.csv';
  const cols = readNumericCsv(sharedData('cdnow', file));
  const x = column(cols, 'x', file);
  return { summary: { x, tx: column(cols, 't_x', file), T: column(cols, 'T', file) }, spend: { x, m: column(cols, 'zbar', file) } };
}
