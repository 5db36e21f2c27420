// `kairos demo`: a synthetic retailer generated, ingested and scored, with a readable summary (the embedded default).
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { KairosError } from '../../errors.js';
import type { IngestReport } from '../../ingest/ingest.js';
import type { Entity } from '../../ingest/contract.js';
import type { ScoreRunSummary } from '../../scores/run.js';
import { formatCount, formatMoney } from '../../util/format.js';
import { wholeNumber } from '../options.js';
import type { StoreOptions } from '../../store/db.js';
import { formatProbability, printJson, progressReporter, renderTable, storeWait, type ColumnFormats, type GlobalOptions, type Io } from '../io.js';

export interface DemoResult {
  readonly db: string;
  readonly dataDir: string;
  readonly generated: Readonly<Record<string, number>>;
  readonly ingested: Readonly<Record<string, { read: number; loaded: number; rejected: number; duplicates: number }>>;
  readonly run: ScoreRunSummary;
  readonly currency: string;
  readonly revenue: number;
  readonly segments: readonly { segment: string; customers: number; share: number; revenue: number }[];
  /** Customers per engagement label, and ambassadors (empty when this build has no engagement scorer). */
  readonly engagement: readonly { label: string; customers: number; share: number; ambassadors: number }[];
  readonly sample: readonly Record<string, unknown>[];
}

/** Columns shown for the sample customers (those that exist in this build's registry). */
const SAMPLE_COLUMNS = ['customer_id', 'frequency', 'monetary', 'recency_days', 'rfm_segment', 'clv_12m', 'p_alive', 'churn_decisive_date', 'engagement_score', 'engagement_label'];

/** Refuses to overwrite a store that holds anything but an earlier demo; removes an earlier demo store. */
async function prepareDemoStore(db: string, wait: Pick<StoreOptions, 'waitSeconds' | 'onWait'>): Promise<void> {
  const file = resolve(db);
  if (!existsSync(file)) return;
  const { Store } = await import('../../store/db.js');
  const store = await Store.open(file, wait);
  let origin: string | undefined;
  let orders = 0;
  try {
    origin = await store.value<string | undefined>("SELECT value FROM kairos_meta WHERE key = 'origin'");
    orders = Number(await store.value('SELECT count(*) FROM orders'));
  } finally {
    store.close();
  }
  if (origin !== 'demo' && orders > 0) {
    throw new KairosError('USAGE', `${file} holds your data (${formatCount(orders)} order lines): the demo will not overwrite it`, {
      hint: 'run the demo into another store: kairos demo --db kairos-demo.duckdb',
    });
  }
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
}

export async function runDemo(
  db: string,
  options: { customers: number; seed: number; dataDir?: string; configPath?: string; wait?: Pick<StoreOptions, 'waitSeconds' | 'onWait'> },
  progress: (message: string) => void,
): Promise<DemoResult> {
  const config = loadConfig(options.configPath);
  // Loaded here, not at start-up: `kairos --version` should not pay for DuckDB and the models.
  const [{ Store }, { writeRetailerFiles }, { ingest }, { runScores }, { ENGAGEMENT_LABELS }] = await Promise.all([
    import('../../store/db.js'),
    import('../../demo/generate.js'),
    import('../../ingest/ingest.js'),
    import('../../scores/run.js'),
    import('../../scores/engagement/index.js'),
  ]);
  await prepareDemoStore(db, options.wait ?? {});
  const dataDir = resolve(options.dataDir ?? join(dirname(resolve(db)), 'kairos-demo'));
  progress(`generating ${formatCount(options.customers)} customers into ${dataDir}`);
  let lastShown = 0;
  const files = writeRetailerFiles(dataDir, { customers: options.customers, seed: options.seed, currency: config.currency }, (done, total) => {
    if (done - lastShown >= total / 5 || done === total) {
      lastShown = done;
      progress(`  generated ${formatCount(done)} / ${formatCount(total)} customers`);
    }
  });
  const store = await Store.open(db, options.wait ?? {});
  try {
    await store.run("INSERT OR REPLACE INTO kairos_meta VALUES ('origin', 'demo')");
    const ingested: Record<string, { read: number; loaded: number; rejected: number; duplicates: number }> = {};
    const order: readonly [Entity, string][] = [
      ['products', files.paths.products],
      ['customers', files.paths.customers],
      ['orders', files.paths.orders],
      ['events', files.paths.events],
    ];
    for (const [entity, path] of order) {
      progress(`ingesting ${entity}`);
      const report: IngestReport = await ingest(store, { entity, files: [path], timezone: config.timezone, onProgress: progress });
      ingested[entity] = report.totals;
    }
    progress('scoring');
    const run = await runScores(store, { config, asOf: files.summary.dataEnd, onProgress: progress });
    const revenue = Number(await store.value('SELECT coalesce(sum(amount), 0) FROM orders'));
    const segments = await store.all<{ segment: string; customers: number; share: number; revenue: number }>(
      `SELECT rfm_segment AS segment, count(*) AS customers, round(count(*) / sum(count(*)) OVER (), 4) AS share, round(sum(monetary), 2) AS revenue
       FROM customer_scores WHERE run_id IS NOT NULL GROUP BY 1 ORDER BY revenue DESC`,
    );
    const available = new Set((await store.all<{ column_name: string }>('DESCRIBE customer_scores')).map((c) => c.column_name));
    const cols = SAMPLE_COLUMNS.filter((c) => available.has(c));
    const engagement = available.has('engagement_label')
      ? await store.all<{ label: string; customers: number; share: number; ambassadors: number }>(
          `SELECT engagement_label AS label, count(*) AS customers, round(count(*) / sum(count(*)) OVER (), 4) AS share,
             count(*) FILTER (WHERE ambassador_label = 'ambassador') AS ambassadors
           FROM customer_scores WHERE engagement_label IS NOT NULL GROUP BY 1 ORDER BY list_position([${ENGAGEMENT_LABELS.map(() => '?').join(', ')}], engagement_label)`,
          [...ENGAGEMENT_LABELS],
        )
      : [];
    const sample = await store.all(
      `(SELECT ${cols.join(', ')} FROM customer_scores WHERE run_id IS NOT NULL ORDER BY monetary DESC LIMIT 3)
       UNION ALL (SELECT ${cols.join(', ')} FROM customer_scores WHERE rfm_segment = 'At risk' ORDER BY monetary DESC LIMIT 2)
       UNION ALL (SELECT ${cols.join(', ')} FROM customer_scores WHERE rfm_segment = 'New' ORDER BY customer_id LIMIT 1)`,
    );
    return {
      db: store.path,
      dataDir,
      generated: files.rows,
      ingested,
      run,
      currency: config.currency,
      revenue,
      segments,
      engagement,
      sample,
    };
  } finally {
    store.close();
  }
}

/** The summary in words; `probabilities` names the sample's probability columns, shown as percentages. */
export function printDemo(io: Io, r: DemoResult, probabilities: readonly string[] = []): void {
  const c = r.currency;
  io.out(`Kairos demo: a synthetic retailer (files in ${r.dataDir}, store ${r.db})`);
  io.out(
    `  ${formatCount(r.generated['customers'] ?? 0)} customers, ${formatCount(r.generated['products'] ?? 0)} products, ` +
      `${formatCount(r.generated['orders'] ?? 0)} order lines, ${formatCount(r.generated['events'] ?? 0)} events; net revenue ${formatMoney(r.revenue, c)}`,
  );
  for (const [entity, t] of Object.entries(r.ingested)) {
    io.out(`  ingested ${entity}: read ${formatCount(t.read)} = loaded ${formatCount(t.loaded)} + rejected ${formatCount(t.rejected)} + duplicates ${formatCount(t.duplicates)}`);
  }
  io.out(`  scored ${formatCount(r.run.customers)} customers as of ${r.run.asOf.slice(0, 10)} (run ${r.run.runId}, ${r.run.seconds.toFixed(1)} s)`);
  for (const n of r.run.notes) io.out(`  note: ${n}`);
  io.out('');
  io.out('RFM segments');
  io.out(
    renderTable(
      ['segment', 'customers', 'share', 'revenue'],
      r.segments.map((s) => ({ segment: s.segment, customers: formatCount(s.customers), share: `${(s.share * 100).toFixed(1)}%`, revenue: formatMoney(s.revenue, c) })),
    ),
  );
  if (r.engagement.length > 0) {
    io.out('');
    io.out('Engagement (from the events; ambassadors: reviews, referrals and shares)');
    io.out(
      renderTable(
        ['label', 'customers', 'share', 'ambassadors'],
        r.engagement.map((e) => ({ label: e.label, customers: formatCount(e.customers), share: `${(e.share * 100).toFixed(1)}%`, ambassadors: formatCount(e.ambassadors) })),
      ),
    );
  }
  io.out('');
  io.out('A few customers (kairos show ID explains every score)');
  const cols = Object.keys(r.sample[0] ?? {});
  const formats: ColumnFormats = Object.fromEntries(probabilities.map((name) => [name, formatProbability]));
  io.out(renderTable(cols, r.sample, 40, formats));
  io.out('');
  io.out(`Next: kairos --db ${r.db} show ${String(r.sample[0]?.['customer_id'] ?? 'ID')}   |   kairos --db ${r.db} sql "SELECT rfm_segment, count(*) FROM customer_scores GROUP BY 1"`);
}

export function registerDemo(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('demo')
    .description('generate a synthetic retailer, ingest it, score it and print a summary')
    .option('--customers <n>', 'number of customers, 10 to 5,000,000', wholeNumber(10, 5_000_000), 10_000)
    .option('--seed <s>', 'random seed, 0 or more (same seed, same data)', wholeNumber(0), 42)
    .option('--data-dir <dir>', 'where the generated files go (default: kairos-demo beside the store)')
    .action(async (flags: { customers: number; seed: number; dataDir?: string }) => {
      const g = global();
      const result = await runDemo(
        g.db,
        { customers: flags.customers, seed: flags.seed, wait: storeWait(io, g), ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}), ...(g.config !== undefined ? { configPath: g.config } : {}) },
        progressReporter(io, g),
      );
      if (g.json) return printJson(io, result);
      const { DEFAULT_REGISTRY } = await import('../../scores/registry.js');
      printDemo(io, result, DEFAULT_REGISTRY.scorers.flatMap((s) => s.columns.filter((c) => c.unit === 'probability').map((c) => c.name)));
    });
}
