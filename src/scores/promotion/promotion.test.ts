// Promotion appetence on a small deterministic shop: shrinkage of thin histories, labels, campaign responses, unmatched redemptions, a store without discounts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { DEFAULT_CONFIG, type KairosConfig } from '../../config.js';
import { ingest } from '../../ingest/ingest.js';
import { posteriorMean } from '../../models/beta-binomial.js';
import { Store } from '../../store/db.js';
import { expectClose } from '../../testing/expect-close.js';
import { explainCustomer } from '../explain.js';
import { runScores } from '../run.js';
import { ENABLING_COLUMNS } from './appetence.js';
import { parseAverageDiscount, parseScoreFilter } from './audience.js';
import { PROMOTION_MODEL } from './index.js';
import { DEFAULT_REGISTRY } from '../registry.js';

const AS_OF = '2024-07-01';
const NOW = new Date('2030-01-01T00:00:00Z');
const config: KairosConfig = DEFAULT_CONFIG;

/**
 * 40 regular customers c00..c39: customer i buys on 4 + (i mod 9) days in 2024 (one line of 10.00 a day), the first
 * i mod 4 of them discounted by 2.00: rates from 0 to 75%, spread beyond chance, so the priors are fitted by maximum
 * likelihood. Then:
 *   one1: one purchase day, discounted (the "one of one" customer);
 *   full1: 20 purchase days, none discounted; drv1: 20 purchase days, all discounted;
 *   a purchase after the as-of for drv1 (unseen).
 */
function ordersCsv(discounts: boolean): string {
  const lines = ['order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount'];
  const day = (d: number): string => new Date(Date.UTC(2024, 0, 2 + d)).toISOString().slice(0, 10);
  const add = (c: string, d: number, off: number): void => {
    lines.push(`${c}-${d},${c},${day(d)}T10:00:00Z,P1,1,10,${discounts ? off : 0}`);
  };
  for (let i = 0; i < 40; i++) {
    const c = `c${String(i).padStart(2, '0')}`;
    const n = 4 + (i % 9);
    for (let d = 0; d < n; d++) add(c, 3 * d + (i % 3), d < i % 4 ? 2 : 0);
  }
  add('one1', 100, 2);
  for (let d = 0; d < 20; d++) add('full1', 5 * d, 0);
  for (let d = 0; d < 20; d++) add('drv1', 5 * d + 1, 2);
  lines.push(`late,drv1,2024-08-01T10:00:00Z,P1,1,10,${discounts ? 2 : 0}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Campaigns: drv1 and full1 received K1 and K2; drv1 redeemed a coupon of each. c00 received K1 only.
 * Unmatched redemptions, kept: full1 redeemed K9 (never received); ghost (no order, no customers row) redeemed K1.
 */
const EVENTS = `customer_id,occurred_at,type,campaign_id
drv1,2024-02-01T00:00:00Z,campaign_received,K1
drv1,2024-04-01T00:00:00Z,campaign_received,K2
full1,2024-02-01T00:00:00Z,campaign_received,K1
full1,2024-04-01T00:00:00Z,campaign_received,K2
c00,2024-02-01T00:00:00Z,campaign_received,K1
drv1,2024-02-10T00:00:00Z,coupon_redemption,K1
drv1,2024-04-10T00:00:00Z,coupon_redemption,K2
full1,2024-05-10T00:00:00Z,coupon_redemption,K9
ghost,2024-03-10T00:00:00Z,coupon_redemption,K1
`;

let dir: string;
let store: Store;
async function load(discounts: boolean, events = true): Promise<void> {
  writeFileSync(join(dir, 'orders.csv'), ordersCsv(discounts));
  writeFileSync(join(dir, 'events.csv'), EVENTS);
  await ingest(store, { entity: 'orders', files: [join(dir, 'orders.csv')], rejectsDir: dir, now: NOW });
  if (events) await ingest(store, { entity: 'events', files: [join(dir, 'events.csv')], rejectsDir: dir, now: NOW });
}
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-promotion-'));
  store = await Store.open(join(dir, 'k.duckdb'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

type Row = Record<string, number | string | null>;
async function rows(): Promise<Map<string, Row>> {
  const all = await store.all<Row>('SELECT * FROM customer_scores WHERE run_id IS NOT NULL ORDER BY customer_id');
  return new Map(all.map((r) => [String(r['customer_id']), r]));
}
interface Prior {
  alpha: number;
  beta: number;
}
async function priors(): Promise<{ days: { params: Prior; diagnostics: { method: string } }; spend: { params: Prior }; response: { params: Prior }; typicalShare: number }> {
  const fit = await store.value<string>('SELECT fit::VARCHAR FROM model_fits WHERE model = ?', [PROMOTION_MODEL]);
  return JSON.parse(String(fit)) as Awaited<ReturnType<typeof priors>>;
}

describe('promotion appetence', () => {
  it('shrinks each share to its posterior mean under the fitted prior (one discounted day of one is not 100%), and explains it in words', async () => {
    await load(true);
    const run = await runScores(store, { config, asOf: AS_OF, scorers: ['promotion'] });
    const p = await priors();
    expect(p.days.diagnostics.method).toBe('mle');
    const r = await rows();
    const one = r.get('one1') as Row;
    expect(one['promo_share_days_raw']).toBe(1);
    expectClose(Number(one['promo_share_days_shrunk']), posteriorMean(p.days.params, 1, 1), { rtol: 1e-12 }, 'one1 days');
    expectClose(Number(one['promo_share_spend_shrunk']), posteriorMean(p.spend.params, 1, 1), { rtol: 1e-12 }, 'one1 spend');
    const mean = p.days.params.alpha / (p.days.params.alpha + p.days.params.beta);
    expect(Number(one['promo_share_days_shrunk'])).toBeLessThan(0.75);
    expect(Number(one['promo_share_days_shrunk'])).toBeGreaterThan(mean);
    // Twenty of twenty stays much closer to 100%; twenty of twenty at full price much closer to 0.
    const drv = r.get('drv1') as Row;
    const full = r.get('full1') as Row;
    expect(Number(drv['promo_share_days_shrunk'])).toBeGreaterThan(Number(one['promo_share_days_shrunk']));
    expectClose(Number(full['promo_share_days_shrunk']), posteriorMean(p.days.params, 0, 20), { rtol: 1e-12 }, 'full1 days');
    expect(drv).toMatchObject({ promo_days: 20, promo_purchase_days: 20, promo_label: 'promotion-driven', discount_received: 40 });
    expect(full).toMatchObject({ promo_days: 0, promo_purchase_days: 20, promo_label: 'full-price', discount_received: 0 });
    // The score: odds of the mean shrunk share, tilted by (response rate / population rate)^0.5, on 0-100.
    const resp = p.response.params;
    const typicalResponse = resp.alpha / (resp.alpha + resp.beta);
    const base = (Number(drv['promo_share_days_shrunk']) + Number(drv['promo_share_spend_shrunk'])) / 2;
    const odds = (base / (1 - base)) * Math.sqrt(posteriorMean(resp, 2, 2) / typicalResponse);
    expectClose(Number(drv['promo_appetence']), Math.round(1000 * odds / (1 + odds)) / 10, { atol: 1e-9 }, 'drv1 score');
    expectClose(Number(drv['promo_odds_ratio']), Math.round((1000 * odds) / (p.typicalShare / (1 - p.typicalShare))) / 1000, { atol: 1e-9 }, 'drv1 odds ratio');
    expect(drv).toMatchObject({ coupon_redemptions: 2, promo_campaigns_received: 2, promo_campaigns_responded: 2 });
    expect(full).toMatchObject({ coupon_redemptions: 1, promo_campaigns_received: 2, promo_campaigns_responded: 0 });
    // No NaN: every number finite or empty; every buyer scored, no one else.
    for (const row of r.values()) {
      for (const v of Object.values(row)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    }
    expect(r.get('ghost')).toMatchObject({ promo_appetence: null, promo_label: null, coupon_redemptions: 1 });
    // The redemptions that match nothing are kept and reported.
    expect(run.notes).toContainEqual(expect.stringMatching(/^promotion: 2 coupon redemptions are for a campaign the customer is not known to have received/));
    expect(run.notes).toContainEqual(expect.stringMatching(/^promotion: 1 coupon redemptions are by customers known only from events/));
    // Six months of orders, 43 buyers: too few for the next-purchase trees, and the note says so.
    expect(run.notes).toContainEqual(expect.stringMatching(/^promotion: no boosted trees for the next purchase on promotion: (too few buyers|less than 180 days)/));
    expect(Number(one['promo_next_purchase_probability'])).toBe(Number(one['promo_share_days_shrunk']));
    expect(run.notes).toContainEqual(expect.stringMatching(/^promotion: 81 of 351 sale lines discounted; 43 buyers scored: \d+ promotion-driven, \d+ promotion-sensitive, \d+ indifferent, \d+ full-price$/));
    // In words, with the customer's own figures (kairos show).
    const e = await explainCustomer(store, 'one1');
    const lines = e.explanations['promotion'] ?? [];
    expect(lines[0]).toMatch(/^promotion appetence \d+(\.\d)?\/100, (promotion-driven|promotion-sensitive|indifferent|full-price): [\d.]+ times the odds of the typical customer$/);
    expect(lines[1]).toMatch(/^bought on promotion on 1 of 1 purchase day\(s\) \(100%\), \d+(\.\d)?% once shrunk towards the population; 100% of the value bought was discounted/);
    expect(lines[1]).toMatch(/EUR 2\.00 off in all$/);
    const d = await explainCustomer(store, 'drv1');
    expect(d.explanations['promotion']?.[2]).toMatch(/^2 coupon\(s\) redeemed; answered 2 of 2 promotional campaign\(s\) received/);
  });

  it('without any discount: no score (empty, not 0) and a note naming the columns that would enable it', async () => {
    await load(false, false);
    const run = await runScores(store, { config, asOf: AS_OF, scorers: ['promotion'] });
    const r = await rows();
    expect(r.size).toBe(43);
    for (const row of r.values()) {
      expect(row).toMatchObject({ promo_appetence: null, promo_label: null, promo_share_days_shrunk: null, promo_share_spend_shrunk: null, promo_days: null });
    }
    expect(run.notes).toContainEqual(`promotion: none of the 351 order lines before the as-of date has a discount: no promotion appetence score (empty, not 0). These would enable it: ${ENABLING_COLUMNS}`);
    const e = await explainCustomer(store, 'drv1');
    expect(e.explanations['promotion']?.[0]).toBe('no promotion appetence: the store has no discount data before the as-of date (orders.discount empty)');
  });
});

describe('audiences by appetence', () => {
  async function kairos(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['--db', join(dir, 'k.duckdb'), ...argv], { out: (x) => out.push(x), err: (x) => err.push(x), isTty: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('combines a label with a condition on another score, and sums the margin a discount gives away on the expected spend', async () => {
    await load(true);
    await runScores(store, { config, asOf: AS_OF, scorers: ['rfm', 'clv', 'promotion'] });
    store.close();
    const r = await kairos('audience', '--exclude-appetence', 'promotion-driven,promotion-sensitive', '--where', 'promo_purchase_days>=12', '--average-discount', '10%');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('customer_id,email,promo_appetence,promo_label,expected_spend_90d,expected_discount_90d,rank');
    const rows = lines.slice(1).map((l) => l.split(','));
    // Customers with 12 purchase days or more (c08, c17, c26, c35 and full1, 20 days), none promotion-driven or -sensitive.
    store = await Store.open(join(dir, 'k.duckdb'), { readOnly: true });
    const expected = await store.all<{ customer_id: string; spend: number }>(
      `SELECT customer_id, round(expected_purchases_90d * expected_order_value, 2) AS spend FROM customer_scores
       WHERE promo_purchase_days >= 12 AND promo_label NOT IN ('promotion-driven', 'promotion-sensitive') ORDER BY promo_appetence DESC, customer_id`,
    );
    expect(expected.map((e) => e.customer_id)).toContain('full1');
    expect(rows.map((x) => x[0])).toEqual(expected.map((e) => e.customer_id));
    for (const [i, e] of expected.entries()) {
      expect(Number(rows[i]?.[4])).toBeCloseTo(e.spend, 2);
      expect(Number(rows[i]?.[5])).toBeCloseTo(Math.round(e.spend * 10) / 100, 2);
    }
    const margin = expected.reduce((a, e) => a + Math.round(e.spend * 10) / 100, 0);
    expect(r.err).toContain(`audience (promo_label not in (promotion-driven, promotion-sensitive) and promo_purchase_days >= 12): ${expected.length} customers`);
    expect(r.err).toContain(`a 10% discount would give away EUR ${margin.toFixed(2)}`);
  });

  it('refuses unknown labels, columns outside the allow-list, text compared by order, and a discount of 100%', async () => {
    await load(true);
    await runScores(store, { config, asOf: AS_OF, scorers: ['promotion'] });
    store.close();
    const bad = await kairos('audience', '--appetence', 'bargain-hunter');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/invalid appetence label "bargain-hunter" \(expected one of promotion-driven, promotion-sensitive, indifferent, full-price\)/);
    expect(() => parseScoreFilter("email='x' OR 1=1", DEFAULT_REGISTRY)).toThrow(/"email" is not a score column/);
    expect(() => parseScoreFilter('clv_12m', DEFAULT_REGISTRY)).toThrow(/expected COLUMN OP VALUE/);
    expect(() => parseScoreFilter('customer_id=c1', DEFAULT_REGISTRY)).toThrow(/"customer_id" is not a score column/);
    expect(() => parseScoreFilter('promo_label>full', DEFAULT_REGISTRY)).toThrow(/promo_label is text: compare it with = or !=/);
    expect(() => parseScoreFilter('clv_12m>=lots', DEFAULT_REGISTRY)).toThrow(/clv_12m is a number, got "lots"/);
    // A text value is bound, never spliced: a quote in it is just a character of the value.
    expect(parseScoreFilter("promo_label=full-price' OR '1'='1", DEFAULT_REGISTRY)).toEqual({ column: 'promo_label', op: '=', value: "full-price' OR '1'='1" });
    const injected = await kairos('audience', '--where', "promo_label=full-price' OR '1'='1");
    expect(injected.code, injected.err).toBe(0);
    expect(injected.out.split('\n')).toHaveLength(1);
    expect(parseAverageDiscount('0.15', 'EUR')).toEqual({ share: 0.15 });
    expect(parseAverageDiscount('5 eur', 'EUR')).toEqual({ money: 5 });
    expect(() => parseAverageDiscount('1', 'EUR')).toThrow(/between 0 and 1/);
    const noWhom = await kairos('audience');
    expect(noWhom.code).toBe(2);
    expect(noWhom.err).toMatch(/say whom to target/);
  });
});
