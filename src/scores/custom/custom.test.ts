// Custom scores: bad grids refused at start-up; on a small demo, points, scales, notes, explanations, history and segments; the check against the objective and suggested weights.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig, type CustomScoreDefinition, type KairosConfig } from '../../config.js';
import { evaluateStore } from '../../evaluate/evaluate.js';
import { renderReportHtml } from '../../evaluate/report/html.js';
import { renderReportJson } from '../../evaluate/report/json.js';
import { compileSegmentFilter, countFilter } from '../../segments/segments.js';
import { runCli } from '../../testing/cli.js';
import { openDemoStore, type DemoStore } from '../../testing/demo-store.js';
import { explainCustomer } from '../explain.js';
import { registryFor, ScoreRegistry } from '../registry.js';
import { runScores, type ScoreRunSummary } from '../run.js';
import { gridVerdict, type GridCheck } from './backtest.js';
import { proposePoints, suggestWeights, type WeightSuggestion } from './suggest.js';

const CRITERIA = [
  { when: 'frequency >= 3', points: 30, label: '3 orders or more' },
  { when: 'monetary > 300', points: 30 },
  { when: 'recency_days <= 60', points: 40, label: 'bought in the last 60 days' },
];
const PURCHASE = { event: 'purchase', withinDays: 90 };
const GRIDS: CustomScoreDefinition[] = [
  { name: 'vip_potential', description: 'customers worth a VIP programme', scale: { min: 0, max: 100 }, criteria: CRITERIA, objective: PURCHASE },
  { name: 'vip_grade', scale: { grades: ['A', 'B', 'C'] }, criteria: CRITERIA, objective: PURCHASE },
  { name: 'vip_tier', scale: { grades: ['gold', 'silver', 'bronze'], by: 'cutoffs', cutoffs: [70, 30] }, criteria: CRITERIA, objective: PURCHASE },
  // A custom score read by another one: run after it.
  { name: 'vip_reviewer', scale: { min: 1, max: 5 }, criteria: [{ when: 'vip_potential >= 60', points: 2 }, { when: 'ambassador_score > 0', points: 3 }, { when: "country = 'FR'", points: 1 }], objective: { event: 'review', withinDays: 90 } },
  // The team's points upside down: most for the weakest criterion (past spend), least for recent purchases.
  { name: 'vip_upside_down', scale: { min: 0, max: 100 }, criteria: [{ when: 'monetary > 300', points: 60 }, { when: 'frequency >= 3', points: 30 }, { when: 'recency_days <= 60', points: 10 }], objective: PURCHASE },
  {
    name: 'odd_grid',
    scale: { min: 0, max: 10 },
    criteria: [{ when: 'frequency >= 1', points: 1 }, { when: 'frequency > 0', points: 1 }, { when: 'frequency >= 100000', points: 1 }, { when: 'frequency >= 3', points: 1 }],
    objective: { event: 'no_such_event', withinDays: 60 },
  },
];
const config: KairosConfig = { ...DEFAULT_CONFIG, customScores: GRIDS };
const NAMES = GRIDS.map((g) => g.name);

/** A configuration with one more custom score (its shape checked as loadConfig would). */
function withGrid(grid: Partial<CustomScoreDefinition>): KairosConfig {
  const c = { ...DEFAULT_CONFIG, customScores: [{ name: 'my_score', scale: { min: 0, max: 100 }, criteria: CRITERIA, objective: PURCHASE, ...grid } as CustomScoreDefinition] };
  validateConfig(c);
  return c;
}

describe('custom scores refused at start-up', () => {
  it('refuses a scale with no room, empty or pointless criteria, disordered cut-offs and a spend objective without a threshold', () => {
    expect(() => withGrid({ scale: { min: 5, max: 5 } })).toThrow(/customScores\[0\] \(my_score\)\.scale: min and max are both 5/);
    expect(() => withGrid({ criteria: [] })).toThrow(/criteria must be a list of 1 to 30 criteria/);
    expect(() => withGrid({ criteria: [{ when: 'frequency > 1', points: 0 }] })).toThrow(/every criterion gives 0 points, so the score cannot vary/);
    expect(() => withGrid({ criteria: [{ when: 'frequency > 1', points: 1.5 }] })).toThrow(/points must be a whole number/);
    expect(() => withGrid({ scale: { grades: ['A', 'B', 'C'], by: 'cutoffs', cutoffs: [10, 50] } })).toThrow(/cutoffs must be 2 point thresholds, descending/);
    expect(() => withGrid({ objective: { event: 'spend', withinDays: 90 } })).toThrow(/spend needs a threshold/);
    expect(() => withGrid({ objective: { event: 'Bad Event', withinDays: 90 } })).toThrow(/objective.event must be purchase, churn, spend or an event type/);
    expect(() => withGrid({ name: 'VIP' })).toThrow(/name must be snake_case/);
  });

  it('names the nearest columns for an unknown one, points at a syntax error, and refuses names taken by a shipped score or a customer column', () => {
    const unknown = (() => {
      try {
        registryFor(withGrid({ criteria: [{ when: 'frequency >= 5', points: 30 }, { when: 'recency_dyas <= 60', points: 40 }] }));
      } catch (err) {
        return err as { code: string; message: string; hint?: string };
      }
      return null;
    })();
    expect(unknown?.code).toBe('USAGE');
    expect(unknown?.message).toMatch(/^custom score my_score, criterion 2: filter: unknown column "recency_dyas" \(at character 1\)/);
    expect(unknown?.hint).toMatch(/did you mean recency_days/);
    expect(() => registryFor(withGrid({ criteria: [{ when: 'frequency >= ', points: 30 }] }))).toThrow(/criterion 1: filter: expected a value .*at character 14/s);
    // List columns are not filterable, item columns are not offered (they cannot be recomputed at a backtest's cut).
    expect(() => registryFor(withGrid({ criteria: [{ when: "recommended_products_1 = 'P1'", points: 30 }] }))).toThrow(/unknown column "recommended_products_1"/);
    expect(() => registryFor(withGrid({ name: 'churn_risk' }))).toThrow(/custom score churn_risk: its column "churn_risk" is already a column of the learned scorer/);
    expect(() => registryFor(withGrid({ name: 'rfm' }))).toThrow(/"rfm" is the name of a built-in scorer/);
    expect(() => registryFor(withGrid({ name: 'country' }))).toThrow(/its column "country" is already a column of customers/);
    expect(() => registryFor(withGrid({ name: 'clv_12m_boosted' }))).toThrow(/already a column of the learned scorer/);
    expect(() => registryFor(withGrid({ name: 'rfm_2' }))).toThrow(/older rfm results table/);
    // Another custom score's column is one a criterion may read, and its scorer a dependency.
    expect(registryFor(config).get('vip_reviewer').dependsOn).toEqual(['vip_potential', 'engagement']);
  });

  it('stops the first command that builds the registry (exit 2, before the store is opened)', async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'kairos-custom-cli-'));
    const file = join(dir, 'kairos.config.json');
    writeFileSync(file, JSON.stringify({ customScores: [{ name: 'monetary', scale: { min: 0, max: 10 }, criteria: [{ when: 'frequency > 1', points: 1 }], objective: PURCHASE }] }));
    const r = await runCli(join(dir, 'none.duckdb'), ['--config', file, 'score']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/custom score monetary: its column "monetary" is already a column of the rfm scorer/);
  });

  it('proposes whole points that keep the positive total, negative points for negative effects', () => {
    expect(proposePoints([0.9, 0.3, 1.0], [30, 30, 40])).toEqual([41, 14, 45]);
    expect(proposePoints([1, -0.5], [60, 40])).toEqual([100, -50]);
    expect(proposePoints([0, 0], [60, 40])).toEqual([60, 40]);
    expect(proposePoints([1, 1, 1], [10, 0, 0])).toEqual([4, 3, 3]);
  });
});

describe('custom scores on a demo retailer', () => {
  let demo: DemoStore;
  let run: ScoreRunSummary;
  const registry = registryFor(config);

  beforeAll(async () => {
    demo = await openDemoStore({ customers: 500, seed: 3 });
    run = await runScores(demo.store, { config, registry, scorers: ['rfm', 'engagement', ...NAMES] });
  }, 60_000);
  afterAll(() => demo?.remove());

  it('adds up the points of the criteria met and maps them on the scale, grades by quantiles or cut-offs', async () => {
    const rows = await demo.store.all<{ f: number | null; m: number | null; r: number | null; s: number; p: number; c: string[]; g: string; t: string }>(
      `SELECT frequency AS f, monetary AS m, recency_days AS r, vip_potential AS s, vip_potential_points AS p, vip_potential_criteria AS c, vip_grade AS g, vip_tier AS t
       FROM customer_scores`,
    );
    expect(rows.length).toBe(500);
    for (const x of rows) {
      const met = [(x.f ?? 0) >= 3, (x.m ?? 0) > 300, x.r !== null && x.r <= 60];
      expect(x.p).toBe(met.reduce((s, on, k) => s + (on ? (CRITERIA[k] as { points: number }).points : 0), 0));
      expect(x.s).toBeCloseTo(x.p, 12); // 0..100 points on a 0..100 scale
      expect(x.c).toEqual(CRITERIA.filter((_, k) => met[k]).map((c) => c.label ?? c.when));
      expect(x.t).toBe(x.p >= 70 ? 'gold' : x.p >= 30 ? 'silver' : 'bronze');
      const above = rows.filter((y) => y.p > x.p).length;
      expect(x.g).toBe(['A', 'B', 'C'][Math.floor((3 * above) / rows.length)]);
    }
    const reviewer = await demo.store.all<{ s: number; p: number }>('SELECT DISTINCT vip_reviewer AS s, vip_reviewer_points AS p FROM customer_scores');
    for (const x of reviewer) expect(x.s).toBeCloseTo(1 + (x.p * 4) / 6, 12);
  });

  it('says which criteria select nobody, the same customers, or always come with another', () => {
    const notes = run.notes.filter((n) => n.startsWith('odd_grid:'));
    expect(notes).toContain('odd_grid: criterion 3 (frequency >= 100000) selects nobody in this run: its points are never given');
    expect(notes.some((n) => /criterion 1 \(frequency >= 1\) and criterion 2 \(frequency > 0\) select exactly the same \d+ customers/.test(n))).toBe(true);
    expect(notes.some((n) => /every customer of criterion 4 \(frequency >= 3\) also meets criterion 1/.test(n))).toBe(true);
    expect(run.notes.some((n) => n.startsWith('vip_potential:'))).toBe(false);
  });

  it('explains each criterion with the customer\'s figures, keeps history, and is selectable in segments', async () => {
    const id = String(await demo.store.value("SELECT customer_id FROM customer_scores WHERE vip_potential_points = 70 AND monetary <= 300 ORDER BY customer_id LIMIT 1"));
    const lines = (await explainCustomer(demo.store, id, registry)).explanations['vip_potential'] ?? [];
    expect(lines[0]).toBe('70 (on a scale of 0 to 100): 70 points of 0 to 100; predicts a purchase within 90 days');
    expect(lines.slice(1)).toEqual(['30 points: 3 orders or more', expect.stringMatching(/^0 of 30: monetary > 300 \(monetary EUR \d+\.\d\d\)$/), '40 points: bought in the last 60 days']);
    const reviewer = (await explainCustomer(demo.store, id, registry)).explanations['vip_reviewer'] ?? [];
    expect(reviewer.some((l) => /^(1 points: country = 'FR'|0 of 1: country = 'FR' \(country \w+\))$/.test(l))).toBe(true);
    expect(Number(await demo.store.value("SELECT count(*) FROM score_history WHERE score = 'vip_potential' AND run_id = ?", [run.runId]))).toBe(500);
    expect(Number(await demo.store.value("SELECT count(*) FROM run_summaries WHERE run_id = ? AND column_name = 'vip_grade'", [run.runId]))).toBe(1);
    const compiled = await compileSegmentFilter(demo.store, "vip_potential >= 60 and vip_tier = 'gold'");
    expect(await countFilter(demo.store, compiled)).toBe(Number(await demo.store.value('SELECT count(*) FROM customer_scores WHERE vip_potential_points >= 70')));
  });

  let check: GridCheck;
  it('grades every custom score on its own objective at the cut, beside recency and the learned score, and says whether to keep it', async () => {
    // The custom scores' sections only (the shipped scorers' hooks are graded in their own tests); small learned models.
    const slim = new ScoreRegistry(registry.scorers.filter((s) => ['rfm', 'clv', 'engagement', 'learned', 'vip_potential', 'odd_grid'].includes(s.name)).map((s) => (NAMES.includes(s.name) ? s : { ...s, backtest: undefined })));
    const small = { ...config, learned: { ...config.learned, snapshots: 1, rounds: 20 }, scores: { ...config.scores, model: 'bg-nbd' as const } };
    const result = await evaluateStore(demo.store, { config: small, registry: slim, holdout: 90, generatedAt: '2030-01-01T00:00:00Z' });
    check = result.scorers['vip_potential']?.details as GridCheck;
    expect(check.customers).toBe(500);
    expect(check.positives).toBeGreaterThan(30);
    expect(check.auc).toBeGreaterThan(0.6); // a grid of frequency, spend and recency predicts the next 90 days' purchase
    expect(check.learnedName).toMatch(/learned 1 − churn_risk/);
    expect(check.learnedAuc).toBeGreaterThan(0.5);
    expect(check.verdict).toMatch(/^(Worth keeping|Not worth keeping as it is)/);
    const [vip, odd] = result.report.scores;
    expect(vip?.metrics.map((m) => m.baselineName)).toEqual([...Array(3).fill('days since the last purchase (recency)'), ...Array(2).fill(check.learnedName)]);
    expect(vip?.notes?.[0]).toBe(check.verdict);
    // No positive case: no AUC, no NaN, a note in plain words.
    expect(odd?.grade.grade).toBe('N/A');
    expect(odd?.notes?.[0]).toMatch(/^Cannot be checked: none of the 500 customers reached the objective \(1 or more no_such_event event\(s\) within 60 days\)/);
    expect(renderReportJson(result.report)).not.toMatch(/NaN/);
    expect(renderReportHtml(result.report)).toContain(check.verdict.replace(/'/g, '&#39;').slice(0, 40));
    expect(result.scorers['vip_potential']?.summary[1]).toBe(`  ${check.verdict}`);
  }, 60_000);

  let suggestion: WeightSuggestion;
  it('suggests weights that improve the held-out ROC AUC of a badly weighted grid, with either learner, and refuses an objective with no positive case', async () => {
    const logistic = await suggestWeights(demo.store, config, registry, 'vip_upside_down');
    const gbdt = await suggestWeights(demo.store, config, registry, 'vip_upside_down', { learner: 'gbdt' });
    for (const s of [logistic, gbdt]) {
      expect(s.holdoutAuc.before).toBeGreaterThan(0.5);
      expect(s.holdoutAuc.after as number).toBeGreaterThan(s.holdoutAuc.before as number);
      // The grid set right: fewer points for past spend (60 now), more for a recent purchase (10 now).
      const proposed = Object.fromEntries(s.criteria.map((c) => [c.when, c.proposed]));
      expect(proposed['monetary > 300']).toBeLessThan(60);
      expect(proposed['recency_days <= 60']).toBeGreaterThan(10);
      expect(s.criteria.reduce((t, c) => t + Math.max(c.proposed, 0), 0)).toBe(100);
      expect(s.customers.fitted + s.customers.heldOut).toBe(500);
    }
    // The team's grid is kept: the same criteria, only the points change.
    suggestion = await suggestWeights(demo.store, config, registry, 'vip_potential');
    expect(suggestion.criteria.map((c) => [c.when, c.points])).toEqual(CRITERIA.map((c) => [c.when, c.points]));
    await expect(suggestWeights(demo.store, config, registry, 'odd_grid')).rejects.toMatchObject({ code: 'INSUFFICIENT_DATA', message: expect.stringMatching(/none of the \d+ customers fitted reached the objective .*no weights can be fitted/) });
    await expect(suggestWeights(demo.store, config, registry, 'nope')).rejects.toThrow(/no custom score named "nope"/);
  }, 30_000);

  it('shows a custom score, and writes the proposed points only with --write, keeping a backup beside the configuration', async () => {
    const id = String(await demo.store.value('SELECT customer_id FROM customer_scores WHERE vip_potential_points = 100 ORDER BY customer_id LIMIT 1'));
    const id70 = String(await demo.store.value("SELECT customer_id FROM customer_scores WHERE vip_potential_points = 70 AND monetary <= 300 ORDER BY customer_id LIMIT 1"));
    demo.close();
    const file = join(demo.dir, 'kairos.config.json');
    writeFileSync(file, JSON.stringify({ currency: 'EUR', customScores: GRIDS }, null, 2));
    const show = await runCli(demo.path, ['--config', file, 'show', id]);
    expect(show.code).toBe(0);
    expect(show.out).toContain('vip_potential:\n  - 100 (on a scale of 0 to 100): 100 points of 0 to 100; predicts a purchase within 90 days\n  - 30 points: 3 orders or more');
    const exported = await runCli(demo.path, ['export', '--format', 'csv', '--out', '-', '--columns', 'customer_id,vip_potential,vip_grade,vip_potential_criteria']);
    expect(exported.code).toBe(0);
    expect(exported.out.split('\n')[0]).toBe('customer_id,vip_potential,vip_grade,vip_potential_criteria');
    expect(exported.out).toContain(`${id},100.0,A,"[3 orders or more, monetary > 300, bought in the last 60 days]"`);
    const wrote = await runCli(demo.path, ['--config', file, '--json', 'suggest-weights', 'vip_potential', '--write']);
    expect(wrote.code, wrote.out + wrote.err).toBe(0);
    const printed = JSON.parse(wrote.out) as WeightSuggestion & { written: { file: string; backup: string } };
    expect(printed.criteria.map((c) => c.proposed)).toEqual(suggestion.criteria.map((c) => c.proposed));
    expect(printed.holdoutAuc).toEqual(suggestion.holdoutAuc);
    const backups = readdirSync(demo.dir).filter((f) => f.endsWith('.bak'));
    expect(backups.map((b) => join(demo.dir, b))).toEqual([printed.written.backup]);
    expect(JSON.parse(readFileSync(printed.written.backup, 'utf8'))).toEqual({ currency: 'EUR', customScores: GRIDS });
    const now = JSON.parse(readFileSync(file, 'utf8')) as { customScores: CustomScoreDefinition[] };
    expect(now.customScores[0]?.criteria.map((c) => c.points)).toEqual(suggestion.criteria.map((c) => c.proposed));
    expect(now.customScores[0]?.criteria.map((c) => c.when)).toEqual(CRITERIA.map((c) => c.when));
    expect(now.customScores.slice(1)).toEqual(GRIDS.slice(1));
    // Until kairos score runs again, the explanation says that the stored score comes from the former points (for a
    // customer whose points the new grid changes: criteria 1 and 3 met).
    const byNewGrid = (suggestion.criteria[0]?.proposed ?? 0) + (suggestion.criteria[2]?.proposed ?? 0);
    expect(byNewGrid).not.toBe(70);
    const stale = await runCli(demo.path, ['--config', file, 'show', id70]);
    expect(stale.out).toContain(`scored with another grid than the configuration's now (${byNewGrid} points by it): run kairos score to apply the configuration`);
  }, 30_000);
});

describe('the verdict on a grid', () => {
  const base = { customers: 1000, positives: 200, days: 90, lift: 2, recencyLift: 2, learnedName: 'learned churn_risk', learnedLift: 2, gridLiftOnLearned: 2 };
  it('keeps a grid that beats recency, says when the learned score ranks clearly better, drops one near chance or below recency', () => {
    const v = (auc: number, recencyAuc: number | null, learnedAuc: number | null): string =>
      gridVerdict({ ...base, auc, recencyAuc, learnedAuc, gridAucOnLearned: learnedAuc === null ? null : auc }, 'g', 'a purchase within 90 days');
    expect(v(0.72, 0.68, 0.73)).toMatch(/^Worth keeping: .*ROC AUC 0\.72 against 0\.68 for recency\), and about as well as learned churn_risk or better/);
    expect(v(0.72, 0.68, 0.78)).toMatch(/^Worth keeping as a rule the team can read .* but learned churn_risk ranks better \(0\.78 against 0\.72\)/);
    expect(v(0.53, 0.5, null)).toMatch(/^Not worth keeping as it is: .*little better than chance \(ROC AUC 0\.53/);
    expect(v(0.66, 0.7, null)).toMatch(/^Not worth keeping as it is: the days since the last purchase alone rank better \(ROC AUC 0\.7 against 0\.66/);
    expect(gridVerdict({ ...base, positives: 0, auc: null, recencyAuc: null, learnedAuc: null, gridAucOnLearned: null }, 'g', 'a purchase within 90 days')).toMatch(/^Cannot be checked: none of the 1,000 customers/);
  });
});
