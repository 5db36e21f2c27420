// Customer snapshots for the learned models: features of every customer at a cut from the data before it, and the labels of the window after it.
import { KairosError } from '../errors.js';
import { EVENT_TYPES } from '../ingest/contract.js';
import { quoteIdentifier, quoteLiteral, type SqlValue, type Store } from '../store/db.js';
import { purchaseDaysSql } from './purchases.js';

/** What a feature is, for the reasons shown to people (src/scores/learned/reasons.ts words them). */
export interface FeatureSpec {
  readonly name: string;
  /** How a value reads in a sentence, e.g. "bought 3 times in the last 90 days". */
  readonly unit: 'days' | 'count' | 'money' | 'share' | 'ratio' | 'flag' | 'code' | 'probability';
  readonly description: string;
}

/**
 * The features computed at a cut T, from the order lines, events and customers strictly before T. Purchase features
 * are missing (NaN) for prospects, who have not bought yet; event counts are 0 for a customer without events.
 */
export const SNAPSHOT_FEATURES: readonly FeatureSpec[] = [
  { name: 'recency_days', unit: 'days', description: 'days since the last purchase' },
  { name: 'tenure_days', unit: 'days', description: 'days since the first purchase' },
  { name: 'purchase_days', unit: 'count', description: 'days with a purchase, ever' },
  { name: 'purchases_30d', unit: 'count', description: 'purchase days in the last 30 days' },
  { name: 'purchases_90d', unit: 'count', description: 'purchase days in the last 90 days' },
  { name: 'purchases_prev_90d', unit: 'count', description: 'purchase days 90 to 180 days ago' },
  { name: 'purchases_365d', unit: 'count', description: 'purchase days in the last 365 days' },
  { name: 'purchase_rate', unit: 'ratio', description: 'purchase days per 30 days of tenure' },
  { name: 'spend_total', unit: 'money', description: 'net spend, ever' },
  { name: 'spend_90d', unit: 'money', description: 'net spend in the last 90 days' },
  { name: 'spend_prev_90d', unit: 'money', description: 'net spend 90 to 180 days ago' },
  { name: 'spend_365d', unit: 'money', description: 'net spend in the last 365 days' },
  { name: 'avg_order_value', unit: 'money', description: 'net spend per purchase day' },
  { name: 'spend_rate', unit: 'money', description: 'net spend per 30 days of tenure' },
  { name: 'mean_gap_days', unit: 'days', description: 'mean days between purchase days' },
  { name: 'last_gap_days', unit: 'days', description: 'days between the last two purchase days' },
  { name: 'gap_trend', unit: 'ratio', description: 'last gap over the mean gap (above 1: buying less often lately)' },
  { name: 'overdue_ratio', unit: 'ratio', description: 'days since the last purchase over the mean gap' },
  { name: 'return_share', unit: 'share', description: 'share of order lines returned or cancelled' },
  { name: 'discount_share', unit: 'share', description: 'discounts over gross spend' },
  { name: 'category_breadth', unit: 'count', description: 'distinct product categories bought' },
  { name: 'product_breadth', unit: 'count', description: 'distinct products bought' },
  { name: 'emails_sent_90d', unit: 'count', description: 'e-mails sent in the last 90 days' },
  { name: 'opens_90d', unit: 'count', description: 'e-mail opens in the last 90 days' },
  { name: 'opens_prev_90d', unit: 'count', description: 'e-mail opens 90 to 180 days ago' },
  { name: 'clicks_90d', unit: 'count', description: 'e-mail clicks in the last 90 days' },
  { name: 'visits_30d', unit: 'count', description: 'site visits in the last 30 days' },
  { name: 'visits_90d', unit: 'count', description: 'site visits in the last 90 days' },
  { name: 'visits_prev_90d', unit: 'count', description: 'site visits 90 to 180 days ago' },
  { name: 'views_90d', unit: 'count', description: 'product views in the last 90 days' },
  { name: 'carts_90d', unit: 'count', description: 'add-to-cart events in the last 90 days' },
  { name: 'advocacy', unit: 'count', description: 'reviews, referrals and social shares, ever' },
  { name: 'complaints', unit: 'count', description: 'complaints, ever' },
  { name: 'unsubscribed', unit: 'flag', description: 'unsubscribed from e-mails' },
  { name: 'days_since_event', unit: 'days', description: 'days since the last event (e-mail, visit, ...)' },
  { name: 'other_events_90d', unit: 'count', description: 'events of types outside the contract (your own) in the last 90 days' },
  { name: 'engagement_score', unit: 'count', description: 'engagement score (0-100, as the engagement scorer computes it)' },
  { name: 'engagement_change', unit: 'count', description: 'engagement score change over the last 90 days' },
  { name: 'account_age_days', unit: 'days', description: 'days since the customer record was created' },
];

/** Window lengths of the features, in days: in the SQL below and in the descriptions above. */
const W = { month: 30, quarter: 90, year: 365 } as const;

/** Which customers a snapshot holds. */
export interface SnapshotOptions {
  /** The cut: data strictly before it ('YYYY-MM-DD HH:MM:SS', UTC). */
  readonly cut: string;
  /**
   * Relations to read (the as-of views in a run or a backtest): `orders` for the line features, `purchaseDays` the
   * purchase days (writePurchaseDays), `eventDays` the daily event counts (writeEventDays), each written once per run.
   */
  readonly orders: string;
  readonly purchaseDays: string;
  readonly eventDays: string;
  readonly customers: string;
  /** Keep a deterministic share of customers (by a hash of the id), in thousandths: 1000 = all. */
  readonly samplePerMille?: number;
  /** Also keep prospects: customers known before the cut (created or with events) with no purchase before it. */
  readonly prospects: boolean;
  /** Customer attributes to add as coded columns (findCategoricals). */
  readonly categoricals?: readonly Categorical[];
  /** How events weigh in the engagement score (the engagement settings); without it engagement features are 0. */
  readonly engagement?: EngagementWeights;
}

/** The engagement score's weights, half-lives and midpoint (KairosConfig.engagement). */
export interface EngagementWeights {
  readonly weights: Readonly<Record<string, number>>;
  readonly halfLifeDays: Readonly<Record<string, number>>;
  readonly midpoint: number;
}

/**
 * SQL of the engagement score at day `at` (a SQL DATE) from the daily event counts before it, as the engagement scorer
 * defines it but by day: 100 (1 - 2^(-activity / midpoint)), activity = sum of n x weight x 0.5^(age in days /
 * half-life), 0 below 0 (an event's age counts from its day, so it may be up to a day older than the scorer's).
 */
function engagementSql(e: EngagementWeights | undefined, at: string): string {
  const types = Object.entries(e?.weights ?? {}).filter(([t, w]) => w !== 0 && Number.isFinite(w) && (e?.halfLifeDays[t] ?? 0) > 0);
  if (!e || types.length === 0) return '0::DOUBLE';
  const age = `date_diff('day', day, ${at})`;
  const terms = types.map(([t, w]) => `WHEN ${quoteLiteral(t)} THEN n * ${Number(w)} * pow(0.5, ${age} / ${Number(e.halfLifeDays[t])})`).join(' ');
  const activity = `coalesce(sum(CASE WHEN day < ${at} THEN CASE type ${terms} ELSE 0 END END), 0)`;
  // Rounded: a parallel sum of doubles may differ in its last bits from run to run, and the models must not.
  return `round(100 * (1 - pow(2, -greatest(${activity}, 0) / ${Number(e.midpoint)})), 4)::DOUBLE`;
}

/**
 * Writes the purchase days the snapshots read (customer_id, day, amount: purchaseDaysSql; gap: days since the
 * customer's previous purchase day) from an orders relation, once per run: the refused orders are judged on all their
 * lines before the run's as-of (a snapshot's cut falls between two orders' lines only for an order that spans
 * midnight), and no line at or after the as-of is read.
 */
export async function writePurchaseDays(store: Store, table: string, orders: string): Promise<void> {
  // Each day's gap to the customer's previous purchase day, once per run: a snapshot at any cut then reads its last gap
  // with a plain aggregate (the previous day of a day before the cut is before it too), where a window per snapshot
  // sorted every purchase day again.
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS
       SELECT customer_id, day, amount, date_diff('day', lag(day) OVER (PARTITION BY customer_id ORDER BY day), day) AS gap
       FROM (${purchaseDaysSql(orders)})`,
  );
}

/**
 * Writes the daily event counts the snapshots read (customer_id, type, day, n) from an events relation: one pass over
 * the events for every snapshot of a run.
 */
export async function writeEventDays(store: Store, table: string, events: string): Promise<void> {
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS
       SELECT customer_id, type, occurred_at::DATE AS day, count(*)::DOUBLE AS n FROM ${events} GROUP BY ALL`,
  );
}

/** The customer filter of a sample and of one part of the customers, as SQL on `customer_id` (true for all). */
function customerFilter(perMille: number, part?: { readonly index: number; readonly count: number }): string {
  if (!(perMille > 0 && perMille <= 1000)) throw new KairosError('INTERNAL', `sample per mille ${perMille} outside (0, 1000]`);
  const sample = perMille >= 1000 ? 'true' : `hash(customer_id) % 1000 < ${Math.floor(perMille)}`;
  if (!part || part.count <= 1) return sample;
  // Other digits of the hash than the sample's: a part of a sample holds its share of the sample.
  return `${sample} AND (hash(customer_id) // 1000) % ${Math.floor(part.count)} = ${Math.floor(part.index)}`;
}

/**
 * Writes a temp table `table` with customer_id, the purchase-model summary (x repeat purchase days, t_x and age = T
 * in days, m the mean repeat purchase day's spend: the purchase models' inputs) and every SNAPSHOT_FEATURES column
 * (DOUBLE), one row per customer of the snapshot, in customer id order. Returns its row count.
 */
export async function writeSnapshot(store: Store, table: string, options: SnapshotOptions): Promise<number> {
  await store.run(
    // In customer id order: the learner's subsamples follow row order, so a training snapshot must come in one order.
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS ${snapshotSql(options)} ORDER BY customer_id`,
    [options.cut] as SqlValue[],
  );
  return Number(await store.value(`SELECT count(*) FROM ${quoteIdentifier(table)}`));
}

/** A snapshot read into JS: each customer's id and every column of writeSnapshot's table but the id, as DOUBLE. */
export interface SnapshotColumns {
  readonly ids: string[];
  readonly numbers: Record<string, Float64Array>;
  readonly rows: number;
}

/**
 * The snapshot of writeSnapshot, streamed into JS in `parts` passes, each over a share of the customers (by a hash of
 * the id), never stored: each pass's joins then fit a small memory limit, and a million customers' 45 columns are not
 * written into a table to be read back. Rows come in no particular order; `ids` says whose each row is.
 */
export async function readSnapshot(store: Store, options: SnapshotOptions, parts: number): Promise<SnapshotColumns> {
  const count = Math.max(1, Math.floor(parts));
  const ids: string[] = [];
  let names: string[] = [];
  let columns: Float64Array[] = [];
  let rows = 0;
  const grow = (need: number): void => {
    if (need <= (columns[0]?.length ?? 0)) return;
    const size = Math.max(need, 2 * (columns[0]?.length ?? 0), 65_536);
    columns = columns.map((c) => {
      const grown = new Float64Array(size);
      grown.set(c.subarray(0, rows));
      return grown;
    });
  };
  for (let index = 0; index < count; index++) {
    await store.forEachChunk(
      snapshotSql(options, { index, count }),
      [options.cut] as SqlValue[],
      (chunk, n) => {
        grow(rows + n);
        chunk.textsInto('customer_id', ids);
        names.forEach((name, c) => chunk.doublesInto(name, columns[c] as Float64Array, rows));
        rows += n;
      },
      (columnNames) => {
        if (names.length === 0) {
          names = columnNames.filter((n) => n !== 'customer_id');
          columns = names.map(() => new Float64Array(0));
        }
      },
    );
  }
  const numbers: Record<string, Float64Array> = {};
  names.forEach((name, c) => (numbers[name] = (columns[c] as Float64Array).slice(0, rows)));
  return { ids, numbers, rows };
}

/** The SELECT of a snapshot (the cut is parameter $1), over the customers of `part` when given. */
function snapshotSql(options: SnapshotOptions, part?: { readonly index: number; readonly count: number }): string {
  const keep = customerFilter(options.samplePerMille ?? 1000, part);
  const cut = '$1::TIMESTAMP';
  const day = `(${cut})::DATE`;
  const lines = `(SELECT * FROM ${options.orders} WHERE ordered_at < ${cut} AND ${keep})`;
  const events = `(SELECT * FROM ${options.eventDays} WHERE day < ${day} AND ${keep})`;
  const since = (d: string): string => `date_diff('day', ${d}, ${day})`;
  const population = options.prospects
    ? `SELECT customer_id FROM p UNION SELECT DISTINCT customer_id FROM e
       UNION SELECT customer_id FROM ${options.customers} WHERE (created_at IS NULL OR created_at < ${cut}) AND ${keep}`
    : 'SELECT customer_id FROM p';
  return `
    WITH d AS (SELECT customer_id, day, amount, gap FROM ${options.purchaseDays} WHERE day < ${day} AND ${keep}),
    p AS (
      SELECT customer_id, count(*)::DOUBLE AS purchase_days, min(day) AS first_day, max(day) AS last_day,
        count(*) FILTER (WHERE day >= ${day} - ${W.month})::DOUBLE AS purchases_30d,
        count(*) FILTER (WHERE day >= ${day} - ${W.quarter})::DOUBLE AS purchases_90d,
        count(*) FILTER (WHERE day >= ${day} - ${2 * W.quarter} AND day < ${day} - ${W.quarter})::DOUBLE AS purchases_prev_90d,
        count(*) FILTER (WHERE day >= ${day} - ${W.year})::DOUBLE AS purchases_365d,
        round(sum(amount), 2)::DOUBLE AS spend_total,
        round(coalesce(sum(amount) FILTER (WHERE day >= ${day} - ${W.quarter}), 0), 2)::DOUBLE AS spend_90d,
        round(coalesce(sum(amount) FILTER (WHERE day >= ${day} - ${2 * W.quarter} AND day < ${day} - ${W.quarter}), 0), 2)::DOUBLE AS spend_prev_90d,
        round(coalesce(sum(amount) FILTER (WHERE day >= ${day} - ${W.year}), 0), 2)::DOUBLE AS spend_365d,
        -- The mean gap between purchase days telescopes to (last - first) / (n - 1); the last one is the latest day's.
        CASE WHEN count(*) > 1 THEN date_diff('day', min(day), max(day)) / (count(*) - 1) END::DOUBLE AS mean_gap_days,
        arg_max(gap, day)::DOUBLE AS last_gap_days,
        arg_min(amount, day)::DOUBLE AS first_amount
      FROM d GROUP BY customer_id),
    l AS (
      SELECT o.customer_id,
        (count(*) FILTER (WHERE o.quantity < 0 OR o.status <> 'completed'))::DOUBLE / count(*) AS return_share,
        CASE WHEN sum(greatest(o.amount, 0) + greatest(o.discount, 0)) > 0
          THEN (sum(greatest(o.discount, 0)) / sum(greatest(o.amount, 0) + greatest(o.discount, 0)))::DOUBLE END AS discount_share,
        count(DISTINCT pr.category)::DOUBLE AS category_breadth, count(DISTINCT o.product_id)::DOUBLE AS product_breadth
      FROM ${lines} o LEFT JOIN products pr ON pr.product_id = o.product_id GROUP BY o.customer_id),
    e AS (
      SELECT customer_id,
        coalesce(sum(n) FILTER (WHERE type = 'email_sent' AND day >= ${day} - ${W.quarter}), 0) AS emails_sent_90d,
        coalesce(sum(n) FILTER (WHERE type = 'email_open' AND day >= ${day} - ${W.quarter}), 0) AS opens_90d,
        coalesce(sum(n) FILTER (WHERE type = 'email_open' AND day >= ${day} - ${2 * W.quarter} AND day < ${day} - ${W.quarter}), 0) AS opens_prev_90d,
        coalesce(sum(n) FILTER (WHERE type = 'email_click' AND day >= ${day} - ${W.quarter}), 0) AS clicks_90d,
        coalesce(sum(n) FILTER (WHERE type = 'web_visit' AND day >= ${day} - ${W.month}), 0) AS visits_30d,
        coalesce(sum(n) FILTER (WHERE type = 'web_visit' AND day >= ${day} - ${W.quarter}), 0) AS visits_90d,
        coalesce(sum(n) FILTER (WHERE type = 'web_visit' AND day >= ${day} - ${2 * W.quarter} AND day < ${day} - ${W.quarter}), 0) AS visits_prev_90d,
        coalesce(sum(n) FILTER (WHERE type = 'product_view' AND day >= ${day} - ${W.quarter}), 0) AS views_90d,
        coalesce(sum(n) FILTER (WHERE type = 'add_to_cart' AND day >= ${day} - ${W.quarter}), 0) AS carts_90d,
        coalesce(sum(n) FILTER (WHERE type IN ('review', 'referral', 'social_share')), 0) AS advocacy,
        coalesce(sum(n) FILTER (WHERE type = 'complaint'), 0) AS complaints,
        (count(*) FILTER (WHERE type = 'unsubscribe') > 0)::DOUBLE AS unsubscribed,
        ${since('max(day)')}::DOUBLE AS days_since_event,
        coalesce(sum(n) FILTER (WHERE type NOT IN (${EVENT_TYPES.map((t) => quoteLiteral(t)).join(', ')}) AND day >= ${day} - ${W.quarter}), 0) AS other_events_90d,
        ${engagementSql(options.engagement, day)} AS engagement_score,
        ${engagementSql(options.engagement, `(${day} - ${W.quarter})`)} AS engagement_before
      FROM ${events} GROUP BY customer_id),
    pop AS (${population})
    SELECT pop.customer_id,
      coalesce(p.purchase_days - 1, 0)::DOUBLE AS x, coalesce(date_diff('day', p.first_day, p.last_day), 0)::DOUBLE AS t_x,
      coalesce(${since('p.first_day')}, 0)::DOUBLE AS age,
      CASE WHEN p.purchase_days > 1 THEN (p.spend_total - p.first_amount) / (p.purchase_days - 1) ELSE 0 END::DOUBLE AS m,
      ${since('p.last_day')}::DOUBLE AS recency_days, ${since('p.first_day')}::DOUBLE AS tenure_days,
      p.purchase_days, p.purchases_30d, p.purchases_90d, p.purchases_prev_90d, p.purchases_365d,
      (p.purchase_days * 30.0 / (${since('p.first_day')} + 1))::DOUBLE AS purchase_rate,
      p.spend_total, p.spend_90d, p.spend_prev_90d, p.spend_365d, (p.spend_total / p.purchase_days)::DOUBLE AS avg_order_value,
      (p.spend_total * 30.0 / (${since('p.first_day')} + 1))::DOUBLE AS spend_rate,
      p.mean_gap_days, p.last_gap_days, (p.last_gap_days / nullif(p.mean_gap_days, 0))::DOUBLE AS gap_trend,
      (${since('p.last_day')} / nullif(p.mean_gap_days, 0))::DOUBLE AS overdue_ratio,
      l.return_share, l.discount_share, l.category_breadth, l.product_breadth,
      coalesce(e.emails_sent_90d, 0) AS emails_sent_90d, coalesce(e.opens_90d, 0) AS opens_90d, coalesce(e.opens_prev_90d, 0) AS opens_prev_90d,
      coalesce(e.clicks_90d, 0) AS clicks_90d, coalesce(e.visits_30d, 0) AS visits_30d, coalesce(e.visits_90d, 0) AS visits_90d,
      coalesce(e.visits_prev_90d, 0) AS visits_prev_90d, coalesce(e.views_90d, 0) AS views_90d, coalesce(e.carts_90d, 0) AS carts_90d,
      coalesce(e.advocacy, 0) AS advocacy, coalesce(e.complaints, 0) AS complaints, coalesce(e.unsubscribed, 0) AS unsubscribed,
      e.days_since_event, coalesce(e.other_events_90d, 0) AS other_events_90d,
      coalesce(e.engagement_score, 0) AS engagement_score, coalesce(e.engagement_score - e.engagement_before, 0)::DOUBLE AS engagement_change,
      ${since('c.created_at::DATE')}::DOUBLE AS account_age_days${options.categoricals?.length ? `, ${categoricalCodesSql(options.categoricals)}` : ''}
    FROM pop LEFT JOIN p USING (customer_id) LEFT JOIN l USING (customer_id) LEFT JOIN e USING (customer_id)
      LEFT JOIN ${options.customers} c ON c.customer_id = pop.customer_id`;
}

/** One label of the window after a snapshot's cut. */
export interface LabelWindow {
  /** Column added to the snapshot table. */
  readonly column: string;
  /** Window length in days: [cut, cut + days). */
  readonly days: number;
  /** 'bought': 1 when the customer has a purchase in the window, else 0; 'spend': net value of every line in it. */
  readonly kind: 'bought' | 'spend';
}

/**
 * Adds to the snapshot table the labels of the windows after its cut, read from `orders` (the as-of view: the caller
 * keeps every window before the run's as-of). Spend is net: returns subtracted.
 */
export async function addLabels(store: Store, table: string, cut: string, orders: string, windows: readonly LabelWindow[]): Promise<void> {
  if (windows.length === 0) return;
  // A label named as a feature would replace it: the model would be trained on its own answer.
  const clash = windows.find((w) => SNAPSHOT_FEATURES.some((f) => f.name === w.column) || ['x', 't_x', 'age', 'm', 'customer_id'].includes(w.column));
  if (clash) throw new KairosError('INTERNAL', `label column ${clash.column} has the name of a snapshot column`);
  const t = quoteIdentifier(table);
  const longest = Math.max(...windows.map((w) => Math.round(w.days)));
  const lines = `(SELECT customer_id, order_id, ordered_at, quantity, amount, date_diff('day', $1::TIMESTAMP, ordered_at) AS k FROM ${orders}
      WHERE ordered_at >= $1::TIMESTAMP AND ordered_at < $1::TIMESTAMP + INTERVAL (${longest}) DAY)`;
  const columns = windows.map((w) => {
    const days = Math.round(w.days);
    return w.kind === 'bought'
      ? `coalesce(bool_or(purchase AND k < ${days}), false)::DOUBLE AS ${quoteIdentifier(w.column)}`
      : `round(coalesce(sum(amount) FILTER (WHERE k < ${days}), 0), 2)::DOUBLE AS ${quoteIdentifier(w.column)}`;
  });
  // A line is part of a purchase unless its order is refused (only returns or cancellations, or a negative net value).
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${t} AS
       WITH w AS ${lines},
       refused AS (SELECT customer_id, order_id FROM w GROUP BY customer_id, order_id HAVING NOT (max(quantity) > 0 AND sum(amount) >= 0)),
       y AS (SELECT customer_id, ${columns.join(', ')} FROM (
               SELECT w.*, (r.order_id IS NULL) AS purchase FROM w LEFT JOIN refused r ON r.customer_id = w.customer_id AND r.order_id = w.order_id)
             GROUP BY customer_id)
       SELECT x.*, ${windows.map((w) => `coalesce(y.${quoteIdentifier(w.column)}, 0)::DOUBLE AS ${quoteIdentifier(w.column)}`).join(', ')}
       FROM ${t} x LEFT JOIN y USING (customer_id) ORDER BY x.customer_id`,
    [cut],
  );
}

/** The attribute columns a data set has, as categorical features: country and each low-cardinality attributes key. */
export interface Categorical {
  readonly name: string;
  /** SQL of the value on `customers` rows (alias c). */
  readonly sql: string;
  /** Levels, most frequent first: a level's code is its index + 1 (missing and unseen levels: NaN). */
  readonly levels: readonly string[];
}

/** Most levels a categorical attribute may have to become a feature. */
export const MAX_LEVELS = 30;

/**
 * Finds the categorical attributes of the customers known before the as-of: `country`, and every key of `attributes`
 * with between 2 and MAX_LEVELS distinct text values. Levels are ordered by frequency (ties by name), so codes do not
 * depend on any label.
 */
export async function findCategoricals(store: Store, customers: string): Promise<Categorical[]> {
  const candidates: { name: string; sql: string }[] = [{ name: 'country', sql: 'c.country' }];
  const keys = await store.all<{ k: string }>(
    `SELECT DISTINCT unnest(json_keys(attributes)) AS k FROM ${customers} WHERE attributes IS NOT NULL ORDER BY k LIMIT 200`,
  );
  for (const { k } of keys) {
    const name = `attr_${k.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')}`;
    if (candidates.some((c) => c.name === name)) continue;
    candidates.push({ name, sql: `json_extract_string(c.attributes, ${quoteLiteral(`$."${k.replace(/"/g, '')}"`)})` });
  }
  const out: Categorical[] = [];
  for (const c of candidates) {
    const levels = await store.all<{ v: string }>(
      `SELECT v FROM (SELECT ${c.sql} AS v, count(*) AS n FROM ${customers} c WHERE ${c.sql} IS NOT NULL AND ${c.sql} <> '' GROUP BY 1)
       ORDER BY n DESC, v LIMIT ${MAX_LEVELS + 1}`,
    );
    if (levels.length >= 2 && levels.length <= MAX_LEVELS) out.push({ name: c.name, sql: c.sql, levels: levels.map((l) => l.v) });
  }
  return out;
}

/** SQL of the categorical codes for the customers of a snapshot (alias s), as extra DOUBLE columns. */
export function categoricalCodesSql(categoricals: readonly Categorical[]): string {
  return categoricals
    .map((c) => {
      const cases = c.levels.map((l, i) => `WHEN ${quoteLiteral(l)} THEN ${i + 1}`).join(' ');
      return `(CASE ${c.sql} ${cases} ELSE NULL END)::DOUBLE AS ${quoteIdentifier(c.name)}`;
    })
    .join(', ');
}
