// The score registry's contract: what a scorer declares, what it is given, what it returns.
import type { KairosConfig } from '../config.js';
import type { Store } from '../store/db.js';

/**
 * How a score's value is stored: `number` / `integer` in value_num, `text` in value_text, `date` in value_date,
 * `json` in value_json (per-category maps and ranked lists, e.g. `{"Home": 0.4}` or `["p1", "p7"]`).
 */
export type ScoreType = 'number' | 'integer' | 'text' | 'date' | 'json';

/** What a number means, for display and export: money is in the store's currency. */
export type ScoreUnit = 'currency' | 'days' | 'count' | 'probability' | 'score' | 'none';

export interface ScoreColumn {
  /** Column name in customer_scores (snake_case, unique across scorers). */
  readonly name: string;
  readonly type: ScoreType;
  readonly unit: ScoreUnit;
  /** One sentence for people: what the number is. */
  readonly description: string;
}

/** What a scorer sees: the store with as-of views, the settings and the run. */
export interface ScoreContext {
  readonly store: Store;
  readonly runId: number;
  /** Data strictly before this instant is used ('YYYY-MM-DD HH:MM:SS', UTC). */
  readonly asOf: string;
  readonly config: KairosConfig;
  readonly progress: (message: string) => void;
}

/** A fitted model a scorer used, persisted as versioned JSON in model_fits. */
export interface ModelRecord {
  readonly model: string;
  readonly fit: unknown;
}

export interface ScorerResult {
  /** Temp table or view with `customer_id` and one column per declared score. */
  readonly table: string;
  /** What a result view reads (temp tables, Store.exposeColumns sources): dropped or released after the run. */
  readonly temporaries?: readonly string[];
  readonly models: readonly ModelRecord[];
  /** Things the user should know about this run (e.g. which model was chosen and why). */
  readonly notes: readonly string[];
}

/**
 * A scorer computes a family of scores for every customer of the run, reading only the as-of views
 * `asof_orders`, `asof_events` and `asof_customers` (never the base tables: that is how leakage is prevented).
 */
export interface Scorer {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly columns: readonly ScoreColumn[];
  run(ctx: ScoreContext): Promise<ScorerResult>;
  /** One line per score, in words, from a customer's row of customer_scores. */
  explain(row: Readonly<Record<string, unknown>>, currency: string): readonly string[];
}
