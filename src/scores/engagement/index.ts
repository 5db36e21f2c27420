// Engagement and ambassador scores from the events: recency-weighted, 0-100 on a fixed scale, with a trend against the previous run and labels.
import type { EngagementSettings } from '../../config.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import { formatCount, formatNumber, formatProbability } from '../../util/format.js';
import type { Scorer, ScoreContext, ScorerResult } from '../types.js';
import { ACTIVITY_DAYS, ADVOCACY_DAYS, createActivityTable, EXPOSURE_TYPE, OPEN_TYPE, type ActivityFacts } from './activity.js';
import { backtestEngagement } from './backtest.js';

const NAME = 'engagement';
const VERSION = '1.0.0';
const ACTIVITY = '__engagement_activity';
const RESULT = '__score_engagement';

/** engagement_label values, from the level and the trend (rule: `labelSql`). */
export const ENGAGEMENT_LABELS = ['highly engaged', 'engaged', 'cooling', 'dormant'] as const;
/** engagement_trend values: against the previous comparable run, 'new' without one (or for a customer not in it). */
export const ENGAGEMENT_TRENDS = ['rising', 'stable', 'cooling', 'new'] as const;
/** ambassador_label values (rule: `ambassadorLabelSql`). */
export const AMBASSADOR_LABELS = ['ambassador', 'supporter', 'none', 'detractor'] as const;

/** The run a trend compares with: the latest completed run with engagement results at an earlier as-of. */
export interface PreviousRun {
  readonly runId: number;
  /** 'YYYY-MM-DD'. */
  readonly asOf: string;
  /** Null when its scores compare with this run's; else why not (other settings or scorer version). */
  readonly incomparable: string | null;
}

/** JSON with sorted keys: two settings objects are the same settings when these are equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The latest completed run before `asOf` (strictly: a run again at the same as-of compares with the one before, as the
 * first did) that wrote engagement results. Its scores compare with this run's only under the same engagement settings
 * and major version of the scorer: a weight or the midpoint changed moves every score, which is not a trend.
 */
export async function previousRun(store: Store, asOf: string, settings: EngagementSettings): Promise<PreviousRun | null> {
  const row = await store.one<{ run_id: number; as_of: string; config: unknown; version: string }>(
    `SELECT r.run_id, strftime(r.as_of, '%Y-%m-%d') AS as_of, r.config::VARCHAR AS config, s.version
     FROM score_runs r JOIN scorer_results s ON s.run_id = r.run_id AND s.scorer = ?
     WHERE r.status = 'completed' AND r.as_of < ?::TIMESTAMP
     ORDER BY r.as_of DESC, r.run_id DESC LIMIT 1`,
    [NAME, asOf],
  );
  if (!row) return null;
  let stored: unknown;
  try {
    stored = (JSON.parse(String(row.config)) as { engagement?: unknown }).engagement;
  } catch {
    stored = undefined;
  }
  const major = (v: string): string => v.split('.')[0] ?? v;
  const incomparable =
    major(row.version) !== major(VERSION)
      ? `its engagement scorer was version ${row.version}, this one is ${VERSION}`
      : canonical(stored) !== canonical(settings)
        ? 'it used other engagement settings'
        : null;
  return { runId: row.run_id, asOf: row.as_of, incomparable };
}

/** SQL of engagement_trend from the score and the change since the previous run (`band` points: stable within it). */
function trendSql(score: string, change: string, band: string): string {
  return `CASE WHEN ${score} IS NULL THEN NULL WHEN ${change} IS NULL THEN 'new'
    WHEN ${change} >= ${band} THEN 'rising' WHEN ${change} <= -${band} THEN 'cooling' ELSE 'stable' END`;
}

/**
 * SQL of engagement_label. Rule: below `dormantBelow` dormant, whatever the trend; else cooling when the trend is;
 * else highly engaged from `highlyEngagedFrom`; else engaged.
 */
function labelSql(score: string, trend: string, dormantBelow: string, highFrom: string): string {
  return `CASE WHEN ${score} IS NULL THEN NULL WHEN ${score} < ${dormantBelow} THEN 'dormant' WHEN ${trend} = 'cooling' THEN 'cooling'
    WHEN ${score} >= ${highFrom} THEN 'highly engaged' ELSE 'engaged' END`;
}

/**
 * SQL of ambassador_label. Rule: detractor when low ratings outweigh the rest by as much as a supporter's advocacy
 * (the same transform of the negative sum reaches `supporterFrom`); else ambassador from `ambassadorFrom`; else
 * supporter from `supporterFrom`; else none. Thresholds, not signs: a sum that decays towards 0 from either side
 * leaves the label after a while (a single 1-star review: about 7 months with the defaults).
 */
function ambassadorLabelSql(score: string, detraction: string, from: string, supporterFrom: string): string {
  return `CASE WHEN ${score} IS NULL THEN NULL WHEN ${detraction} >= ${supporterFrom} THEN 'detractor' WHEN ${score} >= ${from} THEN 'ambassador'
    WHEN ${score} >= ${supporterFrom} THEN 'supporter' ELSE 'none' END`;
}

/** Counts per value of a text column of the result, in `order`, for the notes. */
async function countsOf(store: Store, column: string, order: readonly string[]): Promise<string> {
  const rows = await store.all<{ v: string; n: number }>(
    `SELECT ${quoteIdentifier(column)} AS v, count(*)::BIGINT AS n FROM ${RESULT} WHERE ${quoteIdentifier(column)} IS NOT NULL GROUP BY 1`,
  );
  const by = new Map(rows.map((r) => [r.v, Number(r.n)]));
  return order.map((v) => `${formatCount(by.get(v) ?? 0)} ${v}`).join(', ');
}

/** The run's notes: what was counted, labels, what the trend compares with, types ignored. */
async function runNotes(store: Store, facts: ActivityFacts, previous: PreviousRun | null, customers: number): Promise<string[]> {
  if (facts.events === 0) {
    return [
      'engagement: no event before the as-of date: the engagement and ambassador scores are empty for every customer (kairos ingest events FILE to score them)',
    ];
  }
  const notes = [
    `engagement: ${formatCount(facts.counted)} of ${formatCount(facts.events)} events counted (types with a weight), ${formatCount(customers)} customers: ` +
      `${await countsOf(store, 'engagement_label', ENGAGEMENT_LABELS)}; ${await countsOf(store, 'ambassador_label', AMBASSADOR_LABELS)}`,
  ];
  if (previous === null) {
    notes.push("engagement: no earlier run with engagement scores: every trend is 'new' (a later run shows rising, stable or cooling)");
  } else if (previous.incomparable !== null) {
    notes.push(`engagement: the previous run, ${previous.runId} (as of ${previous.asOf}), does not compare: ${previous.incomparable}; every trend is 'new'`);
  } else {
    notes.push(`engagement: trend against run ${previous.runId} (as of ${previous.asOf}): ${await countsOf(store, 'engagement_trend', ENGAGEMENT_TRENDS)}`);
  }
  const unknown = Object.entries(facts.ignoredUnknown);
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 10).map(([t, n]) => `${t} ${formatCount(n)}`).join(', ');
    notes.push(
      `engagement: ${formatCount(unknown.reduce((a, [, n]) => a + n, 0))} events of ${unknown.length} type(s) outside the data contract were not counted: ${shown}` +
        `${unknown.length > 10 ? ', …' : ''} (give a type a weight in engagement.weights and a half-life in engagement.halfLifeDays to count it)`,
    );
  }
  return notes;
}

/** Event types in words, singular and plural; other types are shown with spaces for underscores. */
const WORDS: Readonly<Record<string, readonly [string, string]>> = {
  email_sent: ['e-mail received', 'e-mails received'],
  email_open: ['e-mail opened', 'e-mails opened'],
  email_click: ['e-mail click', 'e-mail clicks'],
  web_visit: ['visit', 'visits'],
  product_view: ['product view', 'product views'],
  add_to_cart: ['add to cart', 'adds to cart'],
  review: ['review', 'reviews'],
  referral: ['referral', 'referrals'],
  social_share: ['social share', 'social shares'],
  unsubscribe: ['unsubscribe', 'unsubscribes'],
  complaint: ['complaint', 'complaints'],
};

/** "4 e-mail clicks". */
function counted(type: string, n: number): string {
  const words = WORDS[type] ?? [`${type.replaceAll('_', ' ')} event`, `${type.replaceAll('_', ' ')} events`];
  return `${formatCount(n)} ${n === 1 ? words[0] : words[1]}`;
}

/** "a, b and c". */
function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** A map column as [type, count] pairs, most first. */
function pairs(value: unknown): [string, number][] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => [k, Number(v)] as [string, number])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** A change in points: "+9", "-7.5", "±0". */
function signed(x: number): string {
  return x === 0 ? '±0' : `${x > 0 ? '+' : '-'}${formatNumber(Math.abs(x))}`;
}

export const engagementScorer: Scorer = {
  name: NAME,
  version: VERSION,
  description: 'Engagement (0-100, trend, label) and ambassador scores from the events, recency-weighted per event type (SQL).',
  columns: [
    {
      name: 'engagement_score',
      type: 'number',
      unit: 'score',
      description: 'engagement 0-100: events weighted per type and halved every half-life of their type, through a fixed transform (empty when the run sees no event)',
    },
    { name: 'engagement_label', type: 'text', unit: 'none', description: `${ENGAGEMENT_LABELS.join(', ')}: from the score and its trend` },
    { name: 'engagement_trend', type: 'text', unit: 'none', description: `${ENGAGEMENT_TRENDS.join(', ')}: the change since the previous comparable run` },
    { name: 'engagement_change', type: 'number', unit: 'score', description: 'engagement points gained (or lost) since the previous comparable run' },
    { name: 'engagement_trend_since', type: 'date', unit: 'none', description: 'as-of date of the run the trend compares with' },
    { name: 'last_engaged_date', type: 'date', unit: 'none', description: 'day of the last event with a positive engagement weight' },
    {
      name: 'engagement_activity_30d',
      type: 'map',
      unit: 'count',
      description: `events per counted type (and e-mails received) in the ${ACTIVITY_DAYS} days before the as-of date`,
    },
    {
      name: 'email_open_rate',
      type: 'number',
      unit: 'probability',
      description: 'e-mails opened / e-mails received, each counted as the score counts an open (halved every email_open half-life)',
    },
    {
      name: 'ambassador_score',
      type: 'number',
      unit: 'score',
      description: 'advocacy 0-100: reviews (scaled by their rating), referrals and social shares, recency-weighted, through a fixed transform',
    },
    { name: 'ambassador_label', type: 'text', unit: 'none', description: `${AMBASSADOR_LABELS.join(', ')}: from the ambassador score` },
    {
      name: 'ambassador_activity_365d',
      type: 'map',
      unit: 'count',
      description: `reviews, referrals and social shares in the ${ADVOCACY_DAYS} days before the as-of date`,
    },
    { name: 'mean_review_rating', type: 'number', unit: 'none', description: `mean rating of the reviews in the ${ADVOCACY_DAYS} days before the as-of date` },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const s = ctx.config.engagement;
    ctx.progress('engagement: weighing the events');
    const facts = await createActivityTable(ctx.store, ACTIVITY, ctx.asOf, s);
    const found = facts.events > 0 ? await previousRun(ctx.store, ctx.asOf, s) : null;
    const previous = found !== null && found.incomparable === null ? found : null;
    // The previous scores from score_history: every completed run of the scorer's tables, older shapes included.
    await ctx.store.run(
      `CREATE OR REPLACE TEMP TABLE ${RESULT} AS
       WITH p AS (SELECT customer_id, value_num AS previous FROM score_history WHERE run_id = $1 AND score = 'engagement_score'),
       a AS (SELECT a.*, round(a.engagement_score - p.previous, 1) AS change FROM ${ACTIVITY} a LEFT JOIN p USING (customer_id)),
       t AS (SELECT *, ${trendSql('engagement_score', 'change', '$2')} AS trend FROM a)
       SELECT customer_id, engagement_score, ${labelSql('engagement_score', 'trend', '$3', '$4')} AS engagement_label,
         trend AS engagement_trend, change AS engagement_change,
         CASE WHEN engagement_score IS NOT NULL THEN $5::DATE END AS engagement_trend_since,
         last_engaged_at AS last_engaged_date, recent AS engagement_activity_30d, email_open_rate,
         ambassador_score, ${ambassadorLabelSql('ambassador_score', 'detraction', '$6', '$7')} AS ambassador_label,
         advocacy_recent AS ambassador_activity_365d, mean_review_rating
       FROM t`,
      [previous?.runId ?? -1, s.trendBand, s.dormantBelow, s.highlyEngagedFrom, previous?.asOf ?? null, s.ambassador.ambassadorFrom, s.ambassador.supporterFrom],
    );
    const customers = Number(await ctx.store.value(`SELECT count(*) FROM ${RESULT}`));
    const notes = await runNotes(ctx.store, facts, found, customers);
    return { table: RESULT, models: [], notes, temporaries: [ACTIVITY] };
  },

  explain(row, { asOf }) {
    const score = row['engagement_score'];
    if (score === null || score === undefined) return ['no event before the as-of date: no engagement or ambassador score'];
    const change = row['engagement_change'];
    const since = row['engagement_trend_since'];
    const trend =
      change !== null && change !== undefined
        ? `${row['engagement_trend']} (${signed(Number(change))} since ${since})`
        : since
          ? `new since the run of ${since}`
          : 'no earlier run to compare with yet';
    const lines = [`engagement ${formatNumber(Math.round(Number(score)))}/100, ${row['engagement_label']}; ${trend}`];

    const recent = pairs(row['engagement_activity_30d']);
    const sent = recent.find(([t]) => t === EXPOSURE_TYPE)?.[1] ?? 0;
    const opened = recent.find(([t]) => t === OPEN_TYPE)?.[1] ?? 0;
    const shown = recent.filter(([t]) => t !== EXPOSURE_TYPE && !(sent > 0 && t === OPEN_TYPE)).map(([t, n]) => counted(t, n));
    if (sent > 0) shown.push(`opened ${formatCount(opened)} of ${counted(EXPOSURE_TYPE, sent)}`);
    const rate = row['email_open_rate'];
    const last = row['last_engaged_date'] ? `last engaged ${row['last_engaged_date']}` : 'never engaged';
    lines.push(
      `${shown.length ? `in the ${ACTIVITY_DAYS} days before ${asOf}: ${list(shown)}` : `no counted event in the ${ACTIVITY_DAYS} days before ${asOf}`}; ${last}` +
        `${rate === null || rate === undefined ? '' : `; opens ${formatProbability(Number(rate))} of the e-mails received (recent ones count more)`}`,
    );

    const advocacy = pairs(row['ambassador_activity_365d']).map(([t, n]) => counted(t, n));
    const rating = row['mean_review_rating'];
    const rated = rating === null || rating === undefined ? '' : ` (mean rating ${formatNumber(Number(rating))})`;
    const ambassador = Number(row['ambassador_score'] ?? 0);
    const older = advocacy.length === 0 && ambassador > 0 ? ' (older ones still count a little)' : '';
    lines.push(
      `ambassador ${formatNumber(Math.round(ambassador))}/100, ${row['ambassador_label']}: ` +
        `${advocacy.length ? `${list(advocacy)}${rated}` : 'no review, referral or social share'} in the ${ADVOCACY_DAYS} days before ${asOf}${older}`,
    );
    return lines;
  },

  backtest: backtestEngagement,
};
