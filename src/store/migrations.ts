// Versioned schema migrations of the store: applied in order, each once, each in its own transaction.
import type { Store } from './db.js';

/** One schema step. Never edit a released migration: add a new one. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: readonly string[];
}

/** The schema, step by step. The data contract behind it is docs/data-model.md. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core tables: customers, products, orders, events, ingest bookkeeping, scoring runs',
    sql: [
      `CREATE TABLE kairos_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
      `CREATE TABLE customers (
         customer_id VARCHAR PRIMARY KEY,
         created_at TIMESTAMP,
         email VARCHAR,
         country VARCHAR,
         attributes JSON,
         source VARCHAR NOT NULL DEFAULT 'customers',
         batch_id INTEGER)`,
      `CREATE TABLE products (
         product_id VARCHAR PRIMARY KEY,
         name VARCHAR,
         category VARCHAR,
         price DOUBLE,
         attributes JSON,
         source VARCHAR NOT NULL DEFAULT 'products',
         batch_id INTEGER)`,
      `CREATE TABLE orders (
         order_id VARCHAR NOT NULL,
         customer_id VARCHAR NOT NULL,
         ordered_at TIMESTAMP NOT NULL,
         product_id VARCHAR,
         quantity DOUBLE NOT NULL,
         unit_price DOUBLE NOT NULL,
         discount DOUBLE NOT NULL,
         amount DOUBLE NOT NULL,
         status VARCHAR NOT NULL,
         batch_id INTEGER)`,
      `CREATE TABLE events (
         customer_id VARCHAR NOT NULL,
         occurred_at TIMESTAMP NOT NULL,
         type VARCHAR NOT NULL,
         product_id VARCHAR,
         campaign_id VARCHAR,
         value DOUBLE,
         batch_id INTEGER)`,
      `CREATE TABLE ingest_batches (
         batch_id INTEGER PRIMARY KEY,
         entity VARCHAR NOT NULL,
         file VARCHAR NOT NULL,
         format VARCHAR NOT NULL,
         preset VARCHAR,
         started_at TIMESTAMP NOT NULL,
         finished_at TIMESTAMP,
         rows_read BIGINT NOT NULL,
         rows_loaded BIGINT NOT NULL,
         rows_updated BIGINT NOT NULL,
         rows_rejected BIGINT NOT NULL,
         rows_duplicate BIGINT NOT NULL,
         rejects_file VARCHAR)`,
      `CREATE TABLE rejects (
         batch_id INTEGER NOT NULL,
         file VARCHAR NOT NULL,
         line BIGINT,
         reason VARCHAR NOT NULL,
         raw VARCHAR)`,
      `CREATE TABLE score_runs (
         run_id INTEGER PRIMARY KEY,
         as_of TIMESTAMP NOT NULL,
         started_at TIMESTAMP NOT NULL,
         finished_at TIMESTAMP,
         status VARCHAR NOT NULL,
         data_fingerprint VARCHAR NOT NULL,
         scorers JSON NOT NULL,
         config JSON NOT NULL,
         customers BIGINT NOT NULL,
         currency VARCHAR NOT NULL)`,
      `CREATE TABLE score_history (
         run_id INTEGER NOT NULL,
         customer_id VARCHAR NOT NULL,
         score VARCHAR NOT NULL,
         value_num DOUBLE,
         value_text VARCHAR,
         value_date DATE,
         value_json JSON)`,
      `CREATE TABLE model_fits (
         run_id INTEGER NOT NULL,
         model VARCHAR NOT NULL,
         fit JSON NOT NULL)`,
      `CREATE TABLE latest_scores (customer_id VARCHAR PRIMARY KEY, run_id INTEGER)`,
      `CREATE VIEW customer_scores AS
         SELECT c.*, s.* EXCLUDE (customer_id) FROM customers c LEFT JOIN latest_scores s USING (customer_id)`,
    ],
  },
  {
    version: 2,
    name: 'per-scorer results with their history; runs published in one step after their rows are written',
    sql: [
      // Each scorer appends every run's results to its own table scores_<scorer> (run_id first), created by the scores
      // layer (src/scores/results.ts) from the scorer's declaration. This log says which runs wrote which scorer's
      // results; a run's rows count only once its score_runs row says 'completed' (set in a last, small transaction),
      // so a run killed while committing its rows leaves nothing visible. No key constraint: append-only.
      `CREATE TABLE scorer_results (
         scorer VARCHAR NOT NULL,
         run_id INTEGER NOT NULL,
         as_of TIMESTAMP NOT NULL,
         version VARCHAR NOT NULL,
         signature VARCHAR NOT NULL)`,
      // The long history of schema 1 stays as it was; score_history becomes a view over it and the scorers' tables,
      // rebuilt by each run (this one until the first run).
      `ALTER TABLE score_history RENAME TO score_history_v1`,
      `CREATE VIEW score_history AS SELECT * FROM score_history_v1`,
    ],
  },
  {
    version: 3,
    name: 'the process computing a run: readers tell a run in progress from one that was interrupted',
    sql: [
      // A run computes while other processes read the store (src/store/db.ts, "Readers and writers"): a row still
      // 'running' is a run in progress while its process lives, an interrupted one once it is gone.
      `ALTER TABLE score_runs ADD COLUMN IF NOT EXISTS pid INTEGER`,
    ],
  },
  {
    version: 4,
    name: 'customers without a primary-key index: ids stay unique by the ingest, and 10M of them fit a small memory limit',
    sql: [
      // DuckDB keeps a PRIMARY KEY's index (an ART) in memory, outside what it can spill: inserting 10M new customers
      // under the default 256 MB memory limit failed on it, and building it was most of the 1.2 s the customer stubs
      // of 1M customers took. Ingest keeps customer_id unique without it: every insert is an anti-join against the
      // stored ids of rows deduplicated in the file (src/ingest/ingest.ts), under the store's single-writer lock.
      // DuckDB cannot drop a constraint: the table is made again, its rows copied in their order.
      `CREATE TABLE customers_v4 (
         customer_id VARCHAR NOT NULL,
         created_at TIMESTAMP,
         email VARCHAR,
         country VARCHAR,
         attributes JSON,
         source VARCHAR NOT NULL DEFAULT 'customers',
         batch_id INTEGER)`,
      `INSERT INTO customers_v4 SELECT customer_id, created_at, email, country, attributes, source, batch_id FROM customers ORDER BY rowid`,
      `DROP TABLE customers`,
      `ALTER TABLE customers_v4 RENAME TO customers`,
    ],
  },
  {
    version: 5,
    name: 'order ids of the cdnow preset numbered per customer and day (customer-date-k) instead of by file line',
    sql: [
      // The cdnow preset's order ids were customer-date-LINE, the line's place in its file: numbering them needed a
      // row_number() over the whole file, on one thread. They are now customer-date-k, k the row's place among the
      // file's rows of that customer and day (src/ingest/presets.ts, `numbered`). Stored ids are renumbered the same
      // way, by batch (one file each) in line order, so that loading a file again still finds its lines stored. The
      // batch's rejected rows, not stored, are not counted: a day holding one numbers its later rows one lower than a
      // new ingest would (none in the CDNOW files).
      `UPDATE orders SET order_id = n.id FROM (
         SELECT r, base || '-' || row_number() OVER (PARTITION BY batch_id, base ORDER BY line)::VARCHAR AS id FROM (
           SELECT rowid AS r, batch_id, regexp_extract(order_id, '^(.*)-[0-9]+$', 1) AS base,
             TRY_CAST(regexp_extract(order_id, '-([0-9]+)$', 1) AS BIGINT) AS line
           FROM orders
           WHERE batch_id IN (SELECT batch_id FROM ingest_batches WHERE entity = 'orders' AND preset = 'cdnow')
             AND regexp_matches(order_id, '-[0-9]+$'))) n
       WHERE orders.rowid = n.r AND orders.order_id <> n.id`,
    ],
  },
  {
    version: 6,
    name: 'saved segments (a name and a filter over customer_scores) and their size at each run; per-run summaries of the scores',
    sql: [
      `CREATE TABLE IF NOT EXISTS segments (
         name VARCHAR PRIMARY KEY,
         filter VARCHAR NOT NULL,
         description VARCHAR,
         created_at TIMESTAMP NOT NULL,
         updated_at TIMESTAMP NOT NULL)`,
      // Kept when old runs are compacted: a few rows per run, and segment evolution is history too.
      `CREATE TABLE IF NOT EXISTS segment_sizes (
         run_id INTEGER NOT NULL,
         segment VARCHAR NOT NULL,
         customers BIGINT,
         error VARCHAR,
         PRIMARY KEY (run_id, segment))`,
      // One row per run and score column the run wrote: distribution, drift from the scorer's previous run, migration
      // (src/history/summaries.ts). Kept when runs are compacted, as segment sizes are.
      `CREATE TABLE IF NOT EXISTS run_summaries (
         run_id INTEGER NOT NULL,
         column_name VARCHAR NOT NULL,
         scores_table VARCHAR NOT NULL,
         summary JSON NOT NULL,
         PRIMARY KEY (run_id, column_name))`,
    ],
  },
  {
    version: 7,
    name: 'API keys (stored hashed) and the audit of erasures (no personal data)',
    sql: [
      // A key is shown once at creation (kairos keys create); only its scrypt hash and salt are kept (src/server/keys.ts).
      `CREATE TABLE IF NOT EXISTS api_keys (
         key_id VARCHAR PRIMARY KEY,
         name VARCHAR,
         scope VARCHAR NOT NULL,
         salt VARCHAR NOT NULL,
         hash VARCHAR NOT NULL,
         created_at TIMESTAMP NOT NULL,
         revoked_at TIMESTAMP)`,
      // One row per erasure (kairos erase, DELETE /customers/{id}): when, through what, and how many rows left each
      // table; never the customer's id nor anything else about them (src/store/erase.ts).
      `CREATE TABLE IF NOT EXISTS erasures (
         erasure_id INTEGER PRIMARY KEY,
         erased_at TIMESTAMP NOT NULL,
         requested_by VARCHAR NOT NULL,
         rows_deleted JSON NOT NULL)`,
    ],
  },
  {
    version: 8,
    name: "each run's notes (which model was chosen and why, what was left out), kept with the run",
    sql: [`ALTER TABLE score_runs ADD COLUMN IF NOT EXISTS notes JSON`],
  },
  {
    version: 9,
    name: 'customers rescored between runs (a new order, closed form with the published run\'s fitted models), until the next run',
    sql: [
      // One row per customer rescored since the published clv run (src/scores/rescore.ts): the run whose parameters
      // were used, when, the purchase summary it saw and the scores it gave. Rows of an older run are ignored, then
      // removed: the next run replaces them. No key constraint: a rescoring deletes the customer's row and appends.
      `CREATE TABLE IF NOT EXISTS rescored_scores (
         customer_id VARCHAR NOT NULL,
         run_id INTEGER NOT NULL,
         rescored_at TIMESTAMP NOT NULL,
         observed_to DATE NOT NULL,
         model VARCHAR NOT NULL,
         x DOUBLE NOT NULL,
         tx DOUBLE NOT NULL,
         "T" DOUBLE NOT NULL,
         m DOUBLE NOT NULL,
         first_order_date DATE,
         last_order_date DATE,
         recency_days INTEGER,
         frequency INTEGER,
         monetary DOUBLE,
         p_alive DOUBLE,
         churn_risk_purchase_model DOUBLE,
         expected_purchases_90d DOUBLE,
         conversion_probability_30d_purchase_model DOUBLE,
         expected_order_value DOUBLE,
         clv_12m_purchase_model DOUBLE,
         next_order_date DATE,
         churn_decisive_date DATE,
         churn_risk DOUBLE,
         conversion_probability_30d DOUBLE,
         clv_12m DOUBLE)`,
    ],
  },
  {
    version: 10,
    name: "the reports of kairos evaluate, kept; the dashboard's aggregates, computed once per run and cached",
    sql: [
      // One row per `kairos evaluate` (src/evaluate/stored.ts): the report as its stable JSON, and what the list shows.
      `CREATE TABLE IF NOT EXISTS evaluations (
         evaluation_id INTEGER PRIMARY KEY,
         created_at TIMESTAMP NOT NULL,
         dataset VARCHAR NOT NULL,
         title VARCHAR NOT NULL,
         calibration_end DATE NOT NULL,
         holdout_start DATE NOT NULL,
         holdout_end DATE NOT NULL,
         customers BIGINT NOT NULL,
         grades JSON NOT NULL,
         report JSON NOT NULL)`,
      // Aggregates of a run the dashboard shows (src/dashboard/aggregates.ts), computed on first view and kept: `inputs`
      // says what they were computed from (the last ingest batch, the erasures), so new data computes them again.
      // No customer id in them: erasure leaves them (they are counts and sums).
      `CREATE TABLE IF NOT EXISTS dashboard_cache (
         run_id INTEGER NOT NULL,
         name VARCHAR NOT NULL,
         inputs VARCHAR NOT NULL,
         computed_at TIMESTAMP NOT NULL,
         seconds DOUBLE NOT NULL,
         value JSON NOT NULL,
         PRIMARY KEY (run_id, name))`,
    ],
  },
];

/** The data contract's entities: each is one table of the store (docs/data-model.md). */
export type Entity = 'customers' | 'products' | 'orders' | 'events';
export const ENTITIES: readonly Entity[] = ['customers', 'products', 'orders', 'events'];

/** The columns of the customers table, in order: customer_scores starts with them, and no score may reuse a name. */
export const CUSTOMER_COLUMNS = ['customer_id', 'created_at', 'email', 'country', 'attributes', 'source', 'batch_id'] as const;

/** The schema version this build expects. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

/** Applies every migration newer than the store's version. */
export async function migrate(store: Store): Promise<number> {
  await store.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)`);
  const current = Number((await store.value<number | null>('SELECT max(version) FROM schema_migrations')) ?? 0);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    await store.transaction(async () => {
      for (const statement of m.sql) await store.run(statement);
      await store.run('INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)', [m.version, m.name]);
    });
  }
  return SCHEMA_VERSION;
}
