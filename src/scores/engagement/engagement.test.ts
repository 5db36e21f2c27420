// Engagement and ambassador scores on a hand-computed fixture: half-lives, negative signals, prospects, trend across runs, as-of, no events, unknown types.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type EngagementSettings, type KairosConfig } from '../../config.js';
import { evaluateStore } from '../../evaluate/evaluate.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { toyStore } from '../../testing/toy-scorers.js';
import { explainCustomer } from '../explain.js';
import { ScoreRegistry } from '../registry.js';
import { runScores } from '../run.js';
import { saturate } from './activity.js';
import { engagementScorer } from './index.js';

/**
 * Settings with round half-lives, so that every expected score below is computed by hand: an event of age t days
 * counts weight × 0.5^(t / half-life); score = 100 (1 - 2^(-sum / midpoint)), rounded to 0.1.
 */
const SETTINGS: EngagementSettings = {
  halfLifeDays: { web_visit: 10, email_open: 20, email_sent: 20, unsubscribe: 100, complaint: 100, review: 100, referral: 50, social_share: 50 },
  weights: { web_visit: 2, email_open: 1, unsubscribe: -4, complaint: -2, review: 3, referral: 5, social_share: 3 },
  midpoint: 4,
  trendBand: 5,
  dormantBelow: 10,
  highlyEngagedFrom: 60,
  ambassador: { weights: { review: 1, referral: 2, social_share: 1 }, midpoint: 2, ambassadorFrom: 50, supporterFrom: 10, ratingScale: [1, 5] },
};
const config: KairosConfig = { ...DEFAULT_CONFIG, engagement: SETTINGS };
const FIRST = '2024-06-21';
const SECOND = '2024-07-01';

/*
 * As of 2024-07-01 (ages in days; engagement midpoint 4, ambassador midpoint 2):
 *   a1: 2 visits 06-21 (age 10, half-life 10): 2 × 2 × 0.5 = 2                      -> 100 (1 - 2^-0.5)   = 29.3
 *       (+ app_launch, a type outside the contract: weight 0; visits at 07-01 and 07-05: at or after as-of, unseen)
 *   a2: open 06-11 (age 20, half-life 20): 0.5; 2 visits 06-30 (age 1): 4 × 0.5^0.1 = 3.7321 -> 4.2321 -> 52.0
 *   a3: a1's visits and an unsubscribe 06-21 (age 10, half-life 100): 2 - 4 × 0.5^0.1 = -1.73 -> 0 (clamped)
 *   p1: a prospect (events, no order): 1 visit 06-21: 2 × 0.5 = 1                        -> 100 (1 - 2^-0.25)  = 15.9
 *   amb1: referral 05-12 (age 50): 5 × 0.5; review rated 5 on 03-23 (age 100): 3 × 0.5  -> 4      -> 50.0
 *         ambassador: 2 × 0.5 + 1 × (+1) × 0.5 = 1.5                                      -> 100 (1 - 2^-0.75)  = 40.5
 *   amb2: referrals 06-30 00:00 and 12:00 (ages 1, 0.5): 5 × (0.5^0.02 + 0.5^0.01) = 9.8966  -> 82.0
 *         ambassador: 2 × (0.5^0.02 + 0.5^0.01) = 3.9584                                  -> 74.6
 *   det1: review rated 1 on 06-21 (age 10): 3 × 0.5^0.1 = 2.7991                          -> 38.4
 *         ambassador: 1 × (-1) × 0.5^0.1 = -0.93 -> 0; the same transform of 0.93 is 27.6 >= 10: detractor
 *   cool1: 3 visits 06-01 (age 30): 6 × 0.125 = 0.75                                      -> 12.2
 *   old1: a prospect whose only event is a review rated 1 a year ago (2023-07-02, age 365): 3 × 0.5^3.65 = 0.239 -> 4.1
 *         ambassador: -0.5^3.65 = -0.08: the same transform of 0.08 is 2.7 < 10, no longer a detractor: none
 *   a4: an order, no event                                                                  -> 0
 * As of 2024-06-21 (the first run): a2 0.5^0.5 = 0.7071 -> 11.5; cool1 6 × 0.25 = 1.5 -> 22.9; amb1 5 × 0.5^0.8 +
 * 3 × 0.5^0.9 = 4.4793 -> 54.0 (ambassador 2 × 0.5^0.8 + 0.5^0.9 = 1.6846 -> 44.2); old1 3 × 0.5^3.55 -> 4.3; everyone else 0: their events are at
 * 06-21 00:00 or later, not before the as-of instant; p1, first seen 06-21, is not a customer yet.
 */
const EVENTS = `customer_id,occurred_at,type,product_id,campaign_id,value
a1,2024-06-21T00:00:00Z,web_visit,P1,,
a1,2024-06-21T00:00:00Z,web_visit,P2,,
a1,2024-06-25T00:00:00Z,app_launch,,,
a1,2024-07-01T00:00:00Z,web_visit,P1,,
a1,2024-07-05T00:00:00Z,web_visit,P1,,
a2,2024-06-11T00:00:00Z,email_sent,,N1,
a2,2024-06-11T00:00:00Z,email_open,,N1,
a2,2024-06-25T00:00:00Z,email_sent,,N2,
a2,2024-06-30T00:00:00Z,web_visit,P1,,
a2,2024-06-30T00:00:00Z,web_visit,P2,,
a3,2024-06-21T00:00:00Z,web_visit,P1,,
a3,2024-06-21T00:00:00Z,web_visit,P2,,
a3,2024-06-21T00:00:00Z,unsubscribe,,N1,
p1,2024-06-21T00:00:00Z,web_visit,P1,,
amb1,2024-05-12T00:00:00Z,referral,,,
amb1,2024-03-23T00:00:00Z,review,P1,,5
amb2,2024-06-30T00:00:00Z,referral,,,
amb2,2024-06-30T12:00:00Z,referral,,,
det1,2024-06-21T00:00:00Z,review,P2,,1
cool1,2024-06-01T00:00:00Z,web_visit,P1,,
cool1,2024-06-01T00:00:00Z,web_visit,P2,,
cool1,2024-06-01T00:00:00Z,web_visit,P3,,
old1,2023-07-02T00:00:00Z,review,P1,,1
`;
const ORDERS = `order_id,customer_id,ordered_at,amount
${['a1', 'a2', 'a3', 'a4', 'amb1', 'amb2', 'det1', 'cool1'].map((c, i) => `o${i},${c},2024-01-10T10:00:00Z,20`).join('\n')}
`;

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-engagement-'));
  store = await Store.open(join(dir, 'k.duckdb'));
  writeFileSync(join(dir, 'orders.csv'), ORDERS);
  writeFileSync(join(dir, 'events.csv'), EVENTS);
  const now = new Date('2030-01-01T00:00:00Z');
  await ingest(store, { entity: 'orders', files: [join(dir, 'orders.csv')], rejectsDir: dir, now });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function withEvents(): Promise<void> {
  await ingest(store, { entity: 'events', files: [join(dir, 'events.csv')], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
}

const SELECT = `SELECT customer_id, engagement_score, engagement_label, engagement_trend, engagement_change, ambassador_score, ambassador_label
  FROM customer_scores WHERE run_id IS NOT NULL ORDER BY customer_id`;

type Row = { customer_id: string; engagement_score: number | null; engagement_label: string | null; engagement_trend: string | null; engagement_change: number | null; ambassador_score: number | null; ambassador_label: string | null };
const r = (customer_id: string, engagement_score: number, engagement_label: string, engagement_trend: string, engagement_change: number | null, ambassador_score: number, ambassador_label: string): Row => ({
  customer_id, engagement_score, engagement_label, engagement_trend, engagement_change, ambassador_score, ambassador_label,
});

describe('engagement scores', () => {
  it('match the hand-computed fixture: half-lives per type, fixed transform, prospects included, negatives subtract', async () => {
    await withEvents();
    const run = await runScores(store, { config, asOf: SECOND, scorers: ['engagement'] });
    expect(await store.all(SELECT)).toEqual([
      r('a1', 29.3, 'engaged', 'new', null, 0, 'none'),
      r('a2', 52, 'engaged', 'new', null, 0, 'none'),
      r('a3', 0, 'dormant', 'new', null, 0, 'none'),
      r('a4', 0, 'dormant', 'new', null, 0, 'none'),
      r('amb1', 50, 'engaged', 'new', null, 40.5, 'supporter'),
      r('amb2', 82, 'highly engaged', 'new', null, 74.6, 'ambassador'),
      r('cool1', 12.2, 'engaged', 'new', null, 0, 'none'),
      r('det1', 38.4, 'engaged', 'new', null, 0, 'detractor'),
      r('old1', 4.1, 'dormant', 'new', null, 0, 'none'),
      r('p1', 15.9, 'engaged', 'new', null, 0, 'none'),
    ]);
    // The same numbers as the TypeScript transform, from the sums in the comment above.
    expect([saturate(2, 4), saturate(0.5 + 4 * 0.5 ** 0.1, 4), saturate(2 - 4 * 0.5 ** 0.1, 4), saturate(1.5, 2)]).toEqual([29.3, 52, 0, 40.5]);
    // a3 is a1 plus an unsubscribe: the negative signal lowers the score.
    const scores = new Map((await store.all<{ customer_id: string; engagement_score: number }>(SELECT)).map((x) => [x.customer_id, x.engagement_score]));
    expect(scores.get('a3')).toBeLessThan(scores.get('a1') as number);
    expect(run.notes).toContainEqual(expect.stringMatching(/no earlier run with engagement scores: every trend is 'new'/));
    expect(run.notes).toContainEqual(expect.stringMatching(/1 events of 1 type\(s\) outside the data contract were not counted: app_launch 1/));
    const a2 = await store.one<Record<string, unknown>>(
      "SELECT last_engaged_date, engagement_activity_30d, email_open_rate, engagement_trend_since FROM customer_scores WHERE customer_id = 'a2'",
    );
    // Open rate: the open (age 20) over the two mails (ages 20 and 6), each halved every 20 days: 0.5 / (0.5 + 0.5^0.3).
    expect(a2?.['email_open_rate']).toBeCloseTo(0.5 / (0.5 + 0.5 ** 0.3), 12);
    expect(a2).toMatchObject({ last_engaged_date: '2024-06-30', engagement_activity_30d: { web_visit: 2, email_open: 1, email_sent: 2 }, engagement_trend_since: null });
    const amb1 = await store.one("SELECT ambassador_activity_365d, mean_review_rating FROM customer_scores WHERE customer_id = 'amb1'");
    expect(amb1).toEqual({ ambassador_activity_365d: { referral: 1, review: 1 }, mean_review_rating: 5 });
  });

  it('follow the trend across runs: rising, stable, cooling against the previous earlier run, new for a new customer', async () => {
    await withEvents();
    await runScores(store, { config, asOf: FIRST, scorers: ['engagement'] });
    expect(await store.all(SELECT)).toEqual([
      r('a1', 0, 'dormant', 'new', null, 0, 'none'),
      r('a2', 11.5, 'engaged', 'new', null, 0, 'none'),
      r('a3', 0, 'dormant', 'new', null, 0, 'none'),
      r('a4', 0, 'dormant', 'new', null, 0, 'none'),
      r('amb1', 54, 'engaged', 'new', null, 44.2, 'supporter'),
      r('amb2', 0, 'dormant', 'new', null, 0, 'none'),
      r('cool1', 22.9, 'engaged', 'new', null, 0, 'none'),
      r('det1', 0, 'dormant', 'new', null, 0, 'none'),
      r('old1', 4.3, 'dormant', 'new', null, 0, 'none'),
    ]);
    const second = await runScores(store, { config, asOf: SECOND, scorers: ['engagement'] });
    const expected = [
      r('a1', 29.3, 'engaged', 'rising', 29.3, 0, 'none'),
      r('a2', 52, 'engaged', 'rising', 40.5, 0, 'none'),
      r('a3', 0, 'dormant', 'stable', 0, 0, 'none'),
      r('a4', 0, 'dormant', 'stable', 0, 0, 'none'),
      r('amb1', 50, 'engaged', 'stable', -4, 40.5, 'supporter'),
      r('amb2', 82, 'highly engaged', 'rising', 82, 74.6, 'ambassador'),
      r('cool1', 12.2, 'cooling', 'cooling', -10.7, 0, 'none'),
      r('det1', 38.4, 'engaged', 'rising', 38.4, 0, 'detractor'),
      r('old1', 4.1, 'dormant', 'stable', -0.2, 0, 'none'),
      r('p1', 15.9, 'engaged', 'new', null, 0, 'none'),
    ];
    expect(await store.all(SELECT)).toEqual(expected);
    expect(second.notes).toContainEqual(`engagement: trend against run 1 (as of ${FIRST}): 4 rising, 4 stable, 1 cooling, 1 new`);
    expect(await store.value("SELECT engagement_trend_since FROM customer_scores WHERE customer_id = 'a1'")).toBe(FIRST);
    // A run again at the same as-of compares with the earlier as-of, not with the run it repeats.
    await runScores(store, { config, asOf: SECOND, scorers: ['engagement'] });
    expect(await store.all(SELECT)).toEqual(expected);
    // History keeps each run's score, for the next trend and for people.
    expect(await store.all("SELECT run_id, value_num FROM score_history WHERE customer_id = 'cool1' AND score = 'engagement_score' ORDER BY run_id")).toEqual([
      { run_id: 1, value_num: 22.9 },
      { run_id: 2, value_num: 12.2 },
      { run_id: 3, value_num: 12.2 },
    ]);
    // Other settings move every score: the trend starts again instead of reporting the change as rising or cooling.
    const other = { ...config, engagement: { ...SETTINGS, midpoint: 8 } };
    const changed = await runScores(store, { config: other, asOf: '2024-07-02', scorers: ['engagement'] });
    expect(changed.notes).toContainEqual(expect.stringMatching(/the previous run, 3 \(as of 2024-07-01\), does not compare: it used other engagement settings; every trend is 'new'/));
    expect(await store.value("SELECT count(*) FROM customer_scores WHERE engagement_trend <> 'new'")).toBe(0);
  });

  it('explain each customer in words: score, label, trend, recent activity, open rate and advocacy', async () => {
    await withEvents();
    await runScores(store, { config, asOf: FIRST, scorers: ['engagement'] });
    await runScores(store, { config, asOf: SECOND, scorers: ['engagement'] });
    const lines = async (id: string): Promise<string[]> => (await explainCustomer(store, id)).explanations['engagement'] ?? [];
    expect(await lines('a2')).toEqual([
      `engagement 52/100, engaged; rising (+40.5 since ${FIRST})`,
      `in the 30 days before ${SECOND}: 2 visits and opened 1 of 2 e-mails received; last engaged 2024-06-30; opens 38.1% of the e-mails received (recent ones count more)`,
      `ambassador 0/100, none: no review, referral or social share in the 365 days before ${SECOND}`,
    ]);
    expect(await lines('amb2')).toEqual([
      `engagement 82/100, highly engaged; rising (+82 since ${FIRST})`,
      `in the 30 days before ${SECOND}: 2 referrals; last engaged 2024-06-30`,
      `ambassador 75/100, ambassador: 2 referrals in the 365 days before ${SECOND}`,
    ]);
    expect((await lines('cool1'))[0]).toBe(`engagement 12/100, cooling; cooling (-10.7 since ${FIRST})`);
    expect((await lines('p1'))[0]).toBe(`engagement 16/100, engaged; new since the run of ${FIRST}`);
    expect((await lines('det1'))[2]).toBe(`ambassador 0/100, detractor: 1 review (mean rating 1) in the 365 days before ${SECOND}`);
    expect((await lines('a4'))[1]).toBe(`no counted event in the 30 days before ${SECOND}; never engaged`);
  });

  it('never see events at or after the as-of instant: later events change nothing', async () => {
    await withEvents();
    await runScores(store, { config, asOf: FIRST, scorers: ['engagement'] });
    const before = await store.all('SELECT * FROM scores_engagement ORDER BY customer_id');
    writeFileSync(join(dir, 'later.csv'), `customer_id,occurred_at,type\na2,${FIRST}T00:00:00Z,email_click\nnew9,2024-06-22T00:00:00Z,web_visit\ncool1,2024-06-25T00:00:00Z,referral\n`);
    await ingest(store, { entity: 'events', files: [join(dir, 'later.csv')], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
    // The click at the as-of instant would count 3 if it were seen.
    const withClick = { ...config, engagement: { ...SETTINGS, weights: { ...SETTINGS.weights, email_click: 3 }, halfLifeDays: { ...SETTINGS.halfLifeDays, email_click: 20 } } };
    await runScores(store, { config: withClick, asOf: FIRST, scorers: ['engagement'] });
    const after = await store.all('SELECT * EXCLUDE (run_id) FROM scores_engagement WHERE run_id = 2 ORDER BY customer_id');
    expect(after).toEqual(before.map(({ run_id: _, ...rest }) => rest));
  });

  it('score every customer with empty engagement when the store has no event, and say so in the notes', async () => {
    const run = await runScores(store, { config, asOf: SECOND, scorers: ['engagement'] });
    expect(run.customers).toBe(8);
    expect(run.notes).toEqual([
      'engagement: no event before the as-of date: the engagement and ambassador scores are empty for every customer (kairos ingest events FILE to score them)',
    ]);
    expect(await store.one('SELECT count(*) AS n, count(engagement_score) AS scored, count(engagement_label) AS labelled, count(ambassador_label) AS ambassadors FROM scores_engagement')).toEqual({
      n: 8,
      scored: 0,
      labelled: 0,
      ambassadors: 0,
    });
    expect((await explainCustomer(store, 'a1')).explanations['engagement']).toEqual(['no event before the as-of date: no engagement or ambassador score']);
  });

  it('count a type outside the contract once the settings give it a weight and a half-life', async () => {
    await withEvents();
    const own = { ...config, engagement: { ...SETTINGS, weights: { ...SETTINGS.weights, app_launch: 4 }, halfLifeDays: { ...SETTINGS.halfLifeDays, app_launch: 6 } } };
    const run = await runScores(store, { config: own, asOf: SECOND, scorers: ['engagement'] });
    expect(run.notes.join('\n')).not.toMatch(/outside the data contract/);
    // a1: 2 (visits) + 4 × 0.5^(6 / 6) (app_launch 06-25, age 6) = 4 -> 50.
    expect(await store.value("SELECT engagement_score FROM customer_scores WHERE customer_id = 'a1'")).toBe(50);
  });
});

describe('engagement backtest', () => {
  it('grades the score at the cut as a ranking of who buys in the holdout, against RFM recency; no events, no section', async () => {
    const toy = await toyStore(join(dir, 'toy'), join(dir, 'toy.duckdb'));
    try {
      const registry = new ScoreRegistry([engagementScorer]);
      const options = { config: DEFAULT_CONFIG, registry, calibrationEnd: '2023-08-31', holdout: '16w', generatedAt: 'x' };
      const result = await evaluateStore(toy, options);
      const [section] = result.report.scores;
      expect(result.report.scores).toHaveLength(1);
      expect(section).toMatchObject({ name: 'Engagement score vs buying in the holdout', kind: 'probability', model: 'engagement' });
      expect(section?.metrics.map((m) => [m.metric, m.baselineName])).toEqual([
        ['ROC AUC', 'RFM recency'],
        ['PR AUC (average precision)', 'RFM recency'],
        ['Lift at 10%', 'RFM recency'],
      ]);
      const auc = section?.metrics[0]?.model as number;
      expect(auc).toBeGreaterThan(0);
      expect(auc).toBeLessThan(1);
      expect(['A', 'B', 'C']).toContain(section?.grade.grade);
      expect(result.scorers['engagement']?.summary[0]).toMatch(/^engagement: ROC AUC 0\.\d+ for buying in the holdout, RFM recency 0\.\d+$/);
      await toy.run('DELETE FROM events');
      const none = await evaluateStore(toy, options);
      expect(none.report.scores).toEqual([]);
      expect(none.scorers['engagement']?.summary).toEqual(['engagement: no event before 2023-09-01: not backtested']);
    } finally {
      toy.close();
    }
  });
});
