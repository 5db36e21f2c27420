// The scorer contract: what a scorer declares (columns, item outputs, dependencies), what it is given and what it returns.
import type { EvaluationSplit } from '../backtest/split.js';
import type { ScoreSection } from '../backtest/types.js';
import type { KairosConfig } from '../config.js';
import type { Store } from '../store/db.js';

/**
 * How a score's value is stored, in the scorer's results table and in customer_scores:
 * `number` DOUBLE, `integer` INTEGER, `text` VARCHAR, `date` DATE, `list` VARCHAR[] (ranked keys),
 * `map` MAP(VARCHAR, DOUBLE) (a value per key, e.g. per category).
 */
export type ScoreType = 'number' | 'integer' | 'text' | 'date' | 'list' | 'map';

/** DuckDB type of each score type: the one mapping, used to create the results tables and to cast results into them. */
export const SQL_TYPES: Readonly<Record<ScoreType, string>> = {
  number: 'DOUBLE',
  integer: 'INTEGER',
  text: 'VARCHAR',
  date: 'DATE',
  list: 'VARCHAR[]',
  map: 'MAP(VARCHAR, DOUBLE)',
};

/** What a number means, for display and export: money is in the store's currency. */
export type ScoreUnit = 'currency' | 'days' | 'count' | 'probability' | 'score' | 'none';

export interface ScoreColumn {
  /** Column name in customer_scores (snake_case, unique across scorers and apart from the customers' columns). */
  readonly name: string;
  readonly type: ScoreType;
  readonly unit: ScoreUnit;
  /** One sentence for people: what the number is. */
  readonly description: string;
}

/**
 * An item-level output: rows of (customer_id, rank, key, value, reason) per customer, e.g. ranked products or a value
 * per category. The latest run's rows are stored whole in `items_<name>`; the scorer's results (customer_scores, and
 * every run's history) hold `<name>` (the top `keep` keys as a list, or a map of key -> value for `shape: 'map'`)
 * and plain columns `<name>_1` .. `<name>_<columns>` (the top keys).
 */
export interface ItemOutput {
  /** Output name (snake_case): the items table is items_<name>. */
  readonly name: string;
  /** What the keys are: 'product', 'category', ... */
  readonly kind: string;
  /** 'ranked': an ordered list (recommendations); 'map': a value per key (affinity per category). */
  readonly shape: 'ranked' | 'map';
  /** What `value` means. */
  readonly unit: ScoreUnit;
  readonly description: string;
  /** Plain columns `<name>_1..<name>_N` in customer_scores, for exports (default 3). */
  readonly columns?: number;
  /** Top rows per customer kept in the list/map column, hence in every run's history (default 10). */
  readonly keep?: number;
  /**
   * A view of the published run's rows for activation, named for people: `<view.name>` (customer_id, run_id, rank,
   * `<view.key>`, `<view.value>`, reason), e.g. customer_recommendations (..., product_id, score, reason).
   */
  readonly view?: { readonly name: string; readonly key: string; readonly value: string };
}

/** Defaults of an item output's sizes, in one place. */
export const ITEM_DEFAULTS = { columns: 3, keep: 10 } as const;

/** What a scorer sees: the store with as-of views, the settings, the run, and its dependencies' results. */
export interface ScoreContext {
  readonly store: Store;
  readonly runId: number;
  /** Data strictly before this instant is used ('YYYY-MM-DD HH:MM:SS', UTC). */
  readonly asOf: string;
  readonly config: KairosConfig;
  readonly progress: (message: string) => void;
  /**
   * Exact fingerprint of the data the run sees (as-of views and products): equal fingerprints at the same as-of mean
   * the same rows, so a scorer may reuse a decision an earlier completed run made on them (e.g. the purchase model choice).
   */
  readonly dataFingerprint: string;
  /**
   * The results table of a scorer this one declared in `dependsOn` (customer_id and its columns), computed for the
   * same as-of: in this run, or stored by an earlier run at the same as-of. Any other name is refused.
   */
  readonly resultsOf: (scorer: string) => string;
  /**
   * Set when the refit policy (config `refit`) says not to refit this run: the fitted models of the last run that
   * fitted them (model name -> its model_fits JSON). A scorer that can score with them does, and records its fits with
   * `reusedFrom`; one that cannot refits and says so in its notes.
   */
  readonly reuseFits?: { readonly fromRun: number; readonly fits: ReadonlyMap<string, unknown> };
}

/** A fitted model a scorer used, persisted as versioned JSON in model_fits. */
export interface ModelRecord {
  readonly model: string;
  readonly fit: unknown;
}

export interface ScorerResult {
  /** Temp table or view with `customer_id` and one column per declared score (cast to the declared types). */
  readonly table: string;
  /** Per declared item output: a relation with customer_id, rank (1 = first), key, value, reason. */
  readonly items?: Readonly<Record<string, string>>;
  /** What the result relations read (temp tables, Store.exposeColumns sources): dropped or released after the run. */
  readonly temporaries?: readonly string[];
  readonly models: readonly ModelRecord[];
  /** Things the user should know about this run (e.g. which model was chosen and why). */
  readonly notes: readonly string[];
}

/** An item row as `explain` receives it: rank order, best first. */
export interface ItemRow {
  readonly rank: number;
  readonly key: string;
  readonly value: number | null;
  readonly reason: string | null;
}

/** What `explain` is given besides the row. */
export interface ExplainContext {
  readonly currency: string;
  /** The as-of of the scorer's stored results ('YYYY-MM-DD'). */
  readonly asOf: string;
  /** The customer's rows of each of the scorer's item outputs (top `keep`), by output name. */
  readonly items: Readonly<Record<string, readonly ItemRow[]>>;
}

/** What a backtest hook is given: the split (its views created: asof_* = calibration, holdout_orders), settings. */
export interface BacktestContext {
  readonly store: Store;
  readonly split: EvaluationSplit;
  readonly config: KairosConfig;
  readonly progress: (message: string) => void;
}

/** A scorer's part of `kairos evaluate`: its report sections and, for scripts and tests, its unrounded details. */
export interface BacktestResult {
  readonly sections: readonly ScoreSection[];
  /** Plain-text lines `kairos evaluate` prints after its table of grades. */
  readonly summary?: readonly string[];
  readonly details?: unknown;
}

/**
 * A scorer computes a family of scores for every customer of the run, reading only the as-of views `asof_orders`,
 * `asof_events` and `asof_customers` (never the base tables: that is how leakage is prevented), and the results of
 * the scorers it depends on (`ctx.resultsOf`).
 */
export interface Scorer {
  /** snake_case; its results table is scores_<name>. */
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** Scorers whose outputs this one reads (in `run` through ctx.resultsOf, in `explain` through the row). */
  readonly dependsOn?: readonly string[];
  readonly columns: readonly ScoreColumn[];
  readonly items?: readonly ItemOutput[];
  run(ctx: ScoreContext): Promise<ScorerResult>;
  /**
   * One line per score, in words. `row` holds only this scorer's columns, those of the scorers it depends on, and
   * customer_id; `ctx.items` its item outputs.
   */
  explain(row: Readonly<Record<string, unknown>>, ctx: ExplainContext): readonly string[];
  /** Its sections of `kairos evaluate`: fitted on the calibration only, graded against a named baseline on the holdout. */
  backtest?(ctx: BacktestContext): Promise<BacktestResult>;
}
