// Engagement and advocacy of every customer from the as-of events: decayed weighted sums, their fixed 0-100 transform, recent counts.
import type { EngagementSettings } from '../../config.js';
import { EVENT_TYPES } from '../../ingest/contract.js';
import { quoteIdentifier, type SqlValue, type Store } from '../../store/db.js';

/** Days of the recent counts beside the engagement score (engagement_activity_30d). */
export const ACTIVITY_DAYS = 30;
/** Days of the counts beside the ambassador score (ambassador_activity_365d, mean_review_rating). */
export const ADVOCACY_DAYS = 365;
/** The event type whose `value` is a rating, which scales its ambassador weight (docs/data-model.md). */
export const RATED_TYPE = 'review';
/** Counted beside e-mail opens in the recent counts and the open rate, though it weighs nothing (exposure). */
export const EXPOSURE_TYPE = 'email_sent';
/** The opens of the open rate. */
export const OPEN_TYPE = 'email_open';

/**
 * The fixed transform from a decayed weighted sum to 0-100: 100 (1 - 2^(-sum / midpoint)), 0 for a sum <= 0, rounded
 * to one decimal. `midpoint` scores 50, each further `midpoint` halves the distance left to 100. Fixed, not a rank
 * within the run: a customer's score moves only when their own events do (or time passes), so runs compare.
 */
export function saturate(sum: number, midpoint: number): number {
  return Math.round(1000 * (1 - 2 ** (-Math.max(0, sum) / midpoint))) / 10;
}

/** SQL of `saturate` (the same numbers; the scorer computes in SQL, tests check against the TypeScript). */
function saturateSql(sum: string, midpoint: string): string {
  return `round(100 * (1 - pow(2, -greatest(${sum}, 0) / ${midpoint})), 1)`;
}

/** The per-customer figures `createActivityTable` writes, one row per customer of `asof_customers`. */
export interface ActivityColumns {
  customer_id: string;
  /** Σ weight × 0.5^(age / half-life) over the customer's events; 0 without events. */
  activity: number;
  /** Σ ambassador weight × rating factor × 0.5^(age / half-life); 0 without events. */
  advocacy: number;
  /** saturate(activity) and saturate(advocacy); NULL when the run sees no event at all. */
  engagement_score: number | null;
  ambassador_score: number | null;
  /** saturate(-advocacy): how strongly low ratings speak against the customer's advocacy; NULL without any event. */
  detraction: number | null;
  /** Last event with a positive engagement weight (a DATE), or NULL. */
  last_engaged_at: string | null;
  /** Events per counted type (weight ≠ 0, and email_sent) in the ACTIVITY_DAYS before as-of. */
  recent: Record<string, number>;
  /**
   * Opens / e-mails sent, each counted 0.5^(age / the email_open half-life) (recency-weighted, as the score); NULL without
   * a mail sent; at most 1.
   */
  email_open_rate: number | null;
  /** Events per advocacy type (ambassador weight ≠ 0) in the ADVOCACY_DAYS before as-of. */
  advocacy_recent: Record<string, number>;
  /** Mean rating of the reviews with a rating in the ADVOCACY_DAYS before as-of. */
  mean_review_rating: number | null;
}

/** What the run's events hold besides the scores: for the notes. */
export interface ActivityFacts {
  /** Events before as-of, all types. */
  readonly events: number;
  /** Events of types with a weight (engagement or ambassador). */
  readonly counted: number;
  /** Events of types outside the data contract that no weight names, per type, most frequent first. */
  readonly ignoredUnknown: Readonly<Record<string, number>>;
}

/** The settings as one row per event type named anywhere: (type, weight, ambassador weight, half-life). */
function typeRows(s: EngagementSettings): { sql: string; params: SqlValue[] } {
  const types = [...new Set([...Object.keys(s.halfLifeDays), ...Object.keys(s.weights), ...Object.keys(s.ambassador.weights)])].sort();
  const params: SqlValue[] = [];
  for (const t of types) params.push(t, s.weights[t] ?? 0, s.ambassador.weights[t] ?? 0, s.halfLifeDays[t] ?? null);
  const rows = types.map(() => '(?::VARCHAR, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE)').join(', ');
  return { sql: `SELECT * FROM (VALUES ${rows}) t(type, weight, ambassador_weight, half_life)`, params };
}

/**
 * Creates the temp table `table` (ActivityColumns) from `asof_events` and `asof_customers` only, in two passes: the
 * events grouped by customer and type (decayed sums, recent counts, ratings), then per customer. An event's age is
 * counted in days (fractions included) from its instant to the as-of instant. A review's ambassador weight is
 * multiplied by its rating read on the scale: -1 (lowest) to +1 (highest), 0 in the middle, 0.5 without a rating.
 * Types with no weight (unknown types included) are counted in the facts, not in the scores.
 */
export async function createActivityTable(store: Store, table: string, asOf: string, s: EngagementSettings): Promise<ActivityFacts> {
  const types = typeRows(s);
  const byType = `${table}_by_type`;
  const [lo, hi] = s.ambassador.ratingScale;
  await store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(`${table}_types`)} AS ${types.sql}`, types.params);
  const typesTable = quoteIdentifier(`${table}_types`);
  // $1 as-of, $2 recent days, $3 advocacy days, $4 / $5 rating scale, $6 the half-life of the open rate's two counts.
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(byType)} AS
     WITH e AS (
       SELECT customer_id, type, value, occurred_at, (epoch_us($1::TIMESTAMP) - epoch_us(occurred_at)) / 86400e6 AS age FROM asof_events
     )
     SELECT e.customer_id, e.type, count(*) AS n,
       count(*) FILTER (WHERE e.age < $2) AS n_recent,
       count(*) FILTER (WHERE e.age < $3) AS n_advocacy,
       sum(pow(0.5, e.age / t.half_life)) AS decayed,
       sum(pow(0.5, e.age / $6)) FILTER (WHERE e.type IN ('${OPEN_TYPE}', '${EXPOSURE_TYPE}')) AS decayed_mail,
       sum(pow(0.5, e.age / t.half_life) * CASE WHEN e.type <> '${RATED_TYPE}' THEN 1 WHEN e.value IS NULL THEN 0.5
             ELSE greatest(-1, least(1, 2 * (e.value - $4) / ($5 - $4) - 1)) END) AS decayed_rated,
       max(e.occurred_at) AS last_at,
       sum(e.value) FILTER (WHERE e.age < $3 AND e.value IS NOT NULL) AS rating_sum,
       count(e.value) FILTER (WHERE e.age < $3) AS rated
     FROM e LEFT JOIN ${typesTable} t USING (type)
     GROUP BY e.customer_id, e.type`,
    [asOf, ACTIVITY_DAYS, ADVOCACY_DAYS, lo, hi, s.halfLifeDays[OPEN_TYPE] ?? s.halfLifeDays[EXPOSURE_TYPE] ?? 60],
  );
  const facts = await store.one<{ events: number; counted: number }>(
    `SELECT coalesce(sum(b.n), 0)::BIGINT AS events, coalesce(sum(b.n) FILTER (WHERE t.weight <> 0 OR t.ambassador_weight <> 0), 0)::BIGINT AS counted
     FROM ${quoteIdentifier(byType)} b LEFT JOIN ${typesTable} t USING (type)`,
  );
  const contract = EVENT_TYPES.map((t) => `'${t}'`).join(', ');
  const unknown = await store.all<{ type: string; n: number }>(
    `SELECT b.type, sum(b.n)::BIGINT AS n FROM ${quoteIdentifier(byType)} b LEFT JOIN ${typesTable} t USING (type)
     WHERE NOT list_contains([${contract}], b.type) AND coalesce(t.weight, 0) = 0 AND coalesce(t.ambassador_weight, 0) = 0
     GROUP BY b.type ORDER BY n DESC, b.type`,
  );
  const anyEvent = Number(facts?.events ?? 0) > 0;
  const entries = (count: string, filter: string): string =>
    `coalesce(map_from_entries(list({'key': b.type, 'value': ${count}::DOUBLE} ORDER BY b.type) FILTER (WHERE ${filter} AND ${count} > 0)), MAP {}::MAP(VARCHAR, DOUBLE))`;
  const empty = 'MAP {}::MAP(VARCHAR, DOUBLE)';
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS
     WITH per AS (
       SELECT b.customer_id,
         coalesce(sum(t.weight * b.decayed) FILTER (WHERE t.weight <> 0), 0) AS activity,
         coalesce(sum(t.ambassador_weight * b.decayed_rated) FILTER (WHERE t.ambassador_weight <> 0), 0) AS advocacy,
         max(b.last_at) FILTER (WHERE t.weight > 0)::DATE AS last_engaged_at,
         ${entries('b.n_recent', `(t.weight <> 0 OR b.type = '${EXPOSURE_TYPE}')`)} AS recent,
         coalesce(sum(b.decayed_mail) FILTER (WHERE b.type = '${OPEN_TYPE}'), 0) / nullif(sum(b.decayed_mail) FILTER (WHERE b.type = '${EXPOSURE_TYPE}'), 0) AS email_open_rate,
         ${entries('b.n_advocacy', 't.ambassador_weight <> 0')} AS advocacy_recent,
         sum(b.rating_sum) FILTER (WHERE b.type = '${RATED_TYPE}') / nullif(sum(b.rated) FILTER (WHERE b.type = '${RATED_TYPE}'), 0) AS mean_review_rating
       FROM ${quoteIdentifier(byType)} b JOIN ${typesTable} t USING (type)
       GROUP BY b.customer_id
     )
     SELECT c.customer_id, coalesce(p.activity, 0)::DOUBLE AS activity, coalesce(p.advocacy, 0)::DOUBLE AS advocacy,
       ${anyEvent ? saturateSql('coalesce(p.activity, 0)', '$1') : 'NULL::DOUBLE'} AS engagement_score,
       ${anyEvent ? saturateSql('coalesce(p.advocacy, 0)', '$2') : 'NULL::DOUBLE'} AS ambassador_score,
       ${anyEvent ? saturateSql('-coalesce(p.advocacy, 0)', '$2') : 'NULL::DOUBLE'} AS detraction,
       p.last_engaged_at, coalesce(p.recent, ${empty}) AS recent, (CASE WHEN p.email_open_rate > 1 THEN 1 ELSE p.email_open_rate END)::DOUBLE AS email_open_rate,
       coalesce(p.advocacy_recent, ${empty}) AS advocacy_recent, p.mean_review_rating::DOUBLE AS mean_review_rating
     FROM asof_customers c LEFT JOIN per p USING (customer_id)`,
    anyEvent ? [s.midpoint, s.ambassador.midpoint] : [],
  );
  await store.run(`DROP TABLE ${quoteIdentifier(byType)}`);
  await store.run(`DROP TABLE ${typesTable}`);
  return {
    events: Number(facts?.events ?? 0),
    counted: Number(facts?.counted ?? 0),
    ignoredUnknown: Object.fromEntries(unknown.map((u) => [u.type, Number(u.n)])),
  };
}
