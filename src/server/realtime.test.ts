// Real-time rescoring against the models' own functions and a run, GET /customers filters and cursors, saved segments, transitions and drift through the API (app.inject).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type KairosConfig } from '../config.js';
import { purchaseSummary } from '../features/summary.js';
import { transitions } from '../history/transitions.js';
import { gammaGamma, getTransactionModel, parseFit, type GammaGammaParams } from '../models/index.js';
import { DEFAULT_REGISTRY } from '../scores/registry.js';
import { rescoreCustomers } from '../scores/rescore.js';
import { journalFiles } from '../scores/rescore-journal.js';
import { explainCustomer, explainRow } from '../scores/explain.js';
import { customerScoresRow, storedResults } from '../scores/results.js';
import { buildSnapshot, lookupKey, readSnapshotMeta, ServingSnapshot, snapshotFiles, snapshotKey } from '../scores/lookup.js';
import { runScores } from '../scores/run.js';
import type { Store } from '../store/db.js';
import { expectClose } from '../testing/expect-close.js';
import { toyStore } from '../testing/toy-scorers.js';
import { buildServer } from './app.js';
import { customerExplained } from './serving.js';
import { createKey } from './keys.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
const keys: Record<'read' | 'write' | 'admin', string> = { read: '', write: '', admin: '' };
/** The purchase models only (the learned scorer then fills its winner columns with them): fast, and rescorable. */
const config: KairosConfig = { ...structuredClone(DEFAULT_CONFIG), learned: { ...DEFAULT_CONFIG.learned, enabled: false } };
const SCORERS = ['rfm', 'clv', 'learned'];

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, key: string | null = keys.read, payload?: unknown): Promise<{ status: number; body: any; raw: string; headers: Record<string, unknown> }> {
  const res = await app.inject({
    method,
    url,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  let body: unknown = null;
  try {
    body = res.json();
  } catch {
    body = null;
  }
  return { status: res.statusCode, body, raw: res.body, headers: res.headers };
}

/** Every page of a listing, following `next` as `cursor`. */
async function allPages(url: string, field = 'customers'): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const page = await call('GET', `${url}${cursor === null ? '' : `${sep}cursor=${encodeURIComponent(cursor)}`}`);
    expect(page.status, page.raw).toBe(200);
    ids.push(...page.body[field].map((c: { customer_id?: string } | string) => (typeof c === 'string' ? c : c.customer_id)));
    cursor = page.body.next;
  } while (cursor !== null);
  return ids;
}

async function ids(sql: string, params: (string | number)[] = []): Promise<string[]> {
  return (await store.all<{ customer_id: string }>(sql, params)).map((r) => r.customer_id);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-realtime-'));
  store = await toyStore(dir, join(dir, 'k.duckdb'));
  await runScores(store, { config, asOf: '2023-07-01', scorers: SCORERS });
  await runScores(store, { config, asOf: '2023-10-01', scorers: SCORERS });
  for (const scope of ['read', 'write', 'admin'] as const) keys[scope] = (await createKey(store, scope)).key;
  app = await buildServer(store, { version: 'test', config });
});

afterAll(async () => {
  await app?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The published run's fitted models, read back as the rescoring reads them. */
async function fitted(): Promise<{ model: ReturnType<typeof getTransactionModel>; params: Record<string, number>; gg: GammaGammaParams; runId: number }> {
  const runId = Number(await store.value(`SELECT max(run_id) FROM score_runs WHERE status = 'completed'`));
  const fits = await store.all<{ model: string; fit: string }>('SELECT model, fit::VARCHAR AS fit FROM model_fits WHERE run_id = ?', [runId]);
  const t = fits.find((f) => f.model !== 'gamma-gamma') as { model: string; fit: string };
  const g = fits.find((f) => f.model === 'gamma-gamma') as { fit: string };
  return { model: getTransactionModel(t.model), params: parseFit(t.fit).params, gg: parseFit(g.fit).params as GammaGammaParams, runId };
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const iso = (d: number): string => new Date(d * 86_400_000).toISOString().slice(0, 10);

describe('one customer read', () => {
  it("gives a customer's row of customer_scores by point reads, and the serving snapshot the same row, items and explanations", async () => {
    const sample = await ids(`SELECT customer_id FROM customers USING SAMPLE 12 ROWS (reservoir, 7) UNION ALL SELECT min(customer_id) FROM customer_scores WHERE frequency = 0`);
    await app.servingCopyIdle(); // the snapshot the server made at its start
    const meta = readSnapshotMeta(store.path);
    expect(meta?.key).toBe(await snapshotKey(store, DEFAULT_REGISTRY, await storedResults(store, DEFAULT_REGISTRY)));
    expect(meta?.key.startsWith(lookupKey(DEFAULT_REGISTRY, await storedResults(store, DEFAULT_REGISTRY)))).toBe(true);
    expect(meta?.rows).toBe(Number(await store.value('SELECT count(*) FROM customer_scores WHERE run_id IS NOT NULL')));
    // The same published state: nothing to make.
    expect(await buildSnapshot(store, DEFAULT_REGISTRY, store.path)).toBeNull();
    const snapshot = ServingSnapshot.open(store.path, DEFAULT_REGISTRY, meta?.key as string) as ServingSnapshot;
    try {
      expect(snapshot.size).toBe(meta?.rows);
      // A customer created after the run (in customers, not in the snapshot): the view's row of nulls.
      await store.run(`INSERT INTO customers (customer_id, created_at, source) VALUES ('LOOKUP-NEW', TIMESTAMP '2024-01-01', 'customers')`);
      for (const id of [...sample, 'LOOKUP-NEW']) {
        const view = await store.one('SELECT * FROM customer_scores WHERE customer_id = ?', [id]);
        expect(JSON.stringify(await customerScoresRow(store, DEFAULT_REGISTRY, id)), id).toBe(JSON.stringify(view));
        const held = snapshot.get(id);
        if (view?.['run_id'] === null) {
          expect(held, id).toBeUndefined();
          continue;
        }
        // Key for key and in the same order, timestamps in ISO as the store gives them.
        expect(JSON.stringify(held?.row), id).toBe(JSON.stringify(view));
        const explained = await explainCustomer(store, id, DEFAULT_REGISTRY);
        expect(held?.items, id).toEqual(explained.items);
        const state = await storedResults(store, DEFAULT_REGISTRY);
        const currencies = new Map(Object.entries(meta?.currencies ?? {}).map(([k, v]) => [Number(k), v]));
        expect(explainRow(DEFAULT_REGISTRY, state, held?.row as Record<string, unknown>, held?.items ?? {}, currencies), id).toEqual(explained);
      }
      expect(await customerScoresRow(store, DEFAULT_REGISTRY, 'NOBODY')).toBeUndefined();
      expect(snapshot.get('NOBODY')).toBeUndefined();
    } finally {
      snapshot.close();
      await store.run(`DELETE FROM customers WHERE customer_id = 'LOOKUP-NEW'`);
    }
  });

  it("has a rescoring read the store for later order lines while an ingest job may commit one, and until the job's batch is accounted for", async () => {
    await app.servingCopyIdle();
    const id = String(await store.value(`SELECT customer_id FROM customer_scores WHERE frequency > 1 ORDER BY customer_id LIMIT 1`));
    // No batch since the snapshot: the snapshot's order lines are all of the customer's.
    expect(app.serving.orders(id)?.complete).toBe(true);
    let ingesting = true;
    app.serving.watchWriters(() => ingesting);
    try {
      expect(app.serving.orders(id)?.complete).toBe(false);
      // The job has ended (it is listed so); its batch is looked for (catchUp) before the snapshot's lines suffice again.
      ingesting = false;
      app.serving.jobEnded('ingest');
      expect(app.serving.orders(id)?.complete).toBe(false);
      await app.servingCopyIdle();
      expect(app.serving.orders(id)?.complete).toBe(true);
    } finally {
      app.serving.watchWriters(() => app.runner.ingesting());
    }
  });

  it('answers GET /customers/{id} from the snapshot as from the store, and reads live the customers written since', async () => {
    await app.servingCopyIdle();
    expect(app.serving.serving).toBe(true);
    const [id] = await ids(`SELECT customer_id FROM customer_scores WHERE run_id IS NOT NULL AND frequency > 1 ORDER BY customer_id LIMIT 1`);
    const get = async (): Promise<Record<string, unknown>> => (await call('GET', `/customers/${id}`, keys.admin)).body;
    const fromSnapshot = await get();
    expect(app.serving.find(id as string)?.live).toBe(false);
    // The store's way (what the route answers without a snapshot).
    const fromStore = await explainCustomer(store, id as string, DEFAULT_REGISTRY);
    expect(fromSnapshot).toEqual({ customer: fromStore.customer, explanations: fromStore.explanations, items: fromStore.items, redacted: [], rescored: null });
    // A new country through the API: the answer after it shows it (the customer is read live from then on).
    const put = await call('POST', '/ingest/customers', keys.write, [{ customer_id: id, country: 'NZ' }]);
    expect(put.status, put.raw).toBe(200);
    expect(app.serving.find(id as string)?.live).toBe(true);
    const after = await get();
    expect((after['customer'] as Record<string, unknown>)['country']).toBe('NZ');
    expect({ ...(after['customer'] as Record<string, unknown>), country: null, batch_id: null }).toEqual({ ...fromStore.customer, country: null, batch_id: null });
  });
});

describe('real-time rescoring', () => {
  it('gives back the run\'s own values for customers whose orders did not change', async () => {
    // Customers with no order after the run's as-of (the run saw all their orders): 6 with a return line (the run's
    // SQL summary and refused-order rules), 6 without (the run's list summary, DaySummaries).
    const unchanged = `p_alive IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM orders WHERE ordered_at >= '2023-10-01')`;
    const returns = `SELECT customer_id FROM orders WHERE quantity <= 0 OR amount < 0`;
    const buyers = [
      ...(await ids(`SELECT customer_id FROM customer_scores WHERE ${unchanged} AND customer_id IN (${returns}) ORDER BY customer_id LIMIT 6`)),
      ...(await ids(`SELECT customer_id FROM customer_scores WHERE ${unchanged} AND customer_id NOT IN (${returns}) ORDER BY customer_id LIMIT 6`)),
    ];
    const published = new Map((await store.all('SELECT * FROM customer_scores WHERE p_alive IS NOT NULL')).map((r) => [r['customer_id'] as string, r]));
    let checked = 0;
    for (const id of buyers) {
      const [r] = await rescoreCustomers(store, DEFAULT_REGISTRY, { customerId: id });
      const run = published.get(id) as Record<string, unknown>;
      expect(r?.observedTo).toBe('2023-09-30');
      for (const c of ['p_alive', 'churn_risk_purchase_model', 'expected_purchases_90d', 'conversion_probability_30d_purchase_model', 'churn_risk', 'conversion_probability_30d']) {
        expectClose(r?.scores[c] as number, run[c] as number, { rtol: 1e-10, atol: 1e-13 }, `${id} ${c}`);
      }
      // Money rounded to cents, dates and counts: the same.
      for (const c of ['expected_order_value', 'clv_12m_purchase_model', 'clv_12m', 'next_order_date', 'churn_decisive_date', 'first_order_date', 'last_order_date', 'recency_days', 'frequency', 'monetary']) {
        expect(r?.scores[c], `${id} ${c}`).toEqual(run[c]);
      }
      checked++;
    }
    expect(checked).toBe(12);
  });

  it('rescores a customer at once after a new order, with the closed forms of the published models for the new (x, t_x, T)', async () => {
    // A repeat buyer with no order after the run's as-of, not rescored yet.
    const id = String(
      await store.value(
        `SELECT customer_id FROM customer_scores WHERE frequency >= 2 AND p_alive IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM orders WHERE ordered_at >= '2023-10-01')
         AND customer_id NOT IN (SELECT customer_id FROM rescored_scores) ORDER BY customer_id DESC LIMIT 1`,
      ),
    );
    const before = (await call('GET', `/customers/${id}`)).body;
    expect(before.rescored).toBeNull();
    const order = [{ order_id: 'rt-1', customer_id: id, ordered_at: '2023-10-20T15:00:00Z', amount: 48.5 }];
    const ingested = await call('POST', '/ingest/orders', keys.write, order);
    expect(ingested.status, ingested.raw).toBe(200);
    expect(ingested.body.rescored).toMatchObject({ customers: 1, note: null });

    // What the models' own functions give for the customer's new summary (the run's summary code, over every order, to the day of the new order).
    const { model, params, gg, runId } = await fitted();
    expect(ingested.body.rescored.run_id).toBe(runId);
    const all = await purchaseSummary(store, '2023-10-21 00:00:00', 'orders');
    const k = all.customerIds.indexOf(id);
    const one = { x: Float64Array.of(all.transactions.x[k] as number), tx: Float64Array.of(all.transactions.tx[k] as number), T: Float64Array.of(all.transactions.T[k] as number) };
    expect(one.T[0]).toBe(one.tx[0]);
    const spend = gammaGamma.conditionalExpectedSpend(gg, { x: one.x, m: Float64Array.of(all.spend.m[k] as number) })[0] as number;
    const pAlive = model.pAlive(params, one)[0] as number;
    const schedule = gammaGamma.clvSchedule({ months: 12, monthlyDiscount: 0.01, monthLength: 30 });
    const clv = (model.expectedPurchasesCombination(params, one, schedule.horizons, schedule.coefficients)[0] as number) * spend;
    const wait = model.expectedWaitToNextPurchase(params, one)[0] as number;
    const decisive = model.decisiveTime(params, { x: one.x, tx: one.tx, T: one.tx }, 0.5)[0] as number;

    const shown = await call('GET', `/customers/${id}`);
    expect(shown.status).toBe(200);
    const c = shown.body.customer;
    expect(shown.body.rescored).toMatchObject({ run_id: runId, observed_to: '2023-10-20', model: model.name });
    expect(shown.body.rescored.columns).toEqual(expect.arrayContaining(['p_alive', 'churn_risk', 'clv_12m', 'churn_decisive_date', 'expected_purchases_90d']));
    expect(shown.body.rescored.not_rescored.find((n: { scorer: string }) => n.scorer === 'rfm').columns).toContain('rfm_segment');
    const tol = { rtol: 1e-9, atol: 1e-12 };
    expectClose(c.p_alive, pAlive, tol, 'p_alive');
    expectClose(c.expected_purchases_90d, model.expectedPurchases(params, one, 90)[0] as number, tol, 'expected purchases');
    expectClose(c.conversion_probability_30d_purchase_model, model.conversionProbability(params, one, 30)[0] as number, tol, 'conversion');
    expectClose(c.churn_risk_purchase_model, 1 - (model.conversionProbability(params, one, 90)[0] as number), tol, 'churn risk');
    expect(c.churn_risk).toBe(c.churn_risk_purchase_model);
    expect(c.clv_12m_purchase_model).toBe(Math.round(clv * 100) / 100);
    expect(c.clv_12m).toBe(c.clv_12m_purchase_model);
    expect(c.expected_order_value).toBe(Math.round(spend * 100) / 100);
    expect(c.next_order_date).toBe(pAlive >= 0.5 ? iso(day('2023-10-20') + Math.max(1, Math.ceil(wait))) : null);
    expect(c.churn_decisive_date).toBe(Number.isFinite(decisive) ? iso(day('2023-10-20') + Math.ceil(decisive)) : null);
    expect(c.last_order_date).toBe('2023-10-20');
    expect(c.recency_days).toBe(1);
    expect(c.frequency).toBe(before.customer.frequency + 1);
    expect(c.monetary).toBeCloseTo(before.customer.monetary + 48.5, 9);
    // The published run's values differ and are still what the run wrote; the explanation speaks of the new values.
    expect(c.p_alive).not.toBe(before.customer.p_alive);
    expect(Number(await store.value('SELECT p_alive FROM customer_scores WHERE customer_id = ?', [id]))).toBe(before.customer.p_alive);
    expect(shown.body.explanations.clv[0]).toContain(`bought ${c.frequency} time(s), last 1 days ago`);

    // The explicit route gives the same, with the run's values beside them: from the serving snapshot's order lines
    // (those of the run) and the store's lines of later batches (the new order).
    expect(app.serving.orders(id)?.lines.length).toBeGreaterThanOrEqual(before.customer.frequency);
    expect(app.serving.orders(id)?.lines.some((l) => l.o === 'rt-1')).toBe(false);
    const again = await call('POST', `/customers/${id}/rescore`, keys.write);
    expect(again.status, again.raw).toBe(200);
    expect(again.body.scores.p_alive).toBe(c.p_alive);
    expect(again.body.previous.p_alive).toBe(before.customer.p_alive);
    expect(again.body.summary).toMatchObject({ x: one.x[0], tx: one.tx[0], T: one.T[0] });
    // The mean repeat spend is a floating-point sum (its order may differ between two reads).
    expectClose(again.body.summary.m, all.spend.m[k] as number, { rtol: 1e-12, atol: 1e-12 }, 'm');
    // The server holds the rescoring it made (no query for the look-ups that follow): the same answer as the store's.
    expect(app.serving.find(id)).toMatchObject({ live: false, rescored: { mark: { run_id: runId } } });
    const held = (await call('GET', `/customers/${id}`, keys.admin)).body;
    await app.rescores.settle();
    const stored = await customerExplained(undefined, DEFAULT_REGISTRY, id, (read) => read(store));
    expect(held).toEqual({ customer: stored.customer, explanations: stored.explanations, items: stored.items, redacted: [], rescored: stored.rescored });
    // The snapshot put to use again (as at a restart): the rescorings of its run in the store are held in memory too.
    app.serving.close();
    app.serving.refresh();
    await app.servingCopyIdle();
    expect(app.serving.find(id)).toMatchObject({ live: false, rescored: { mark: { run_id: runId, rescored_at: again.body.rescored_at } } });
    expect((await call('GET', `/customers/${id}`, keys.admin)).body).toEqual(held);
    expect(await call('POST', `/customers/${id}/rescore`, keys.read)).toMatchObject({ status: 403 });
    expect(await call('POST', '/customers/NOBODY/rescore', keys.write)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    // The route takes no body: an order sent along is refused with the route that takes one, not dropped unseen.
    expect(await call('POST', `/customers/${id}/rescore`, keys.write, { amount: 120.5, ordered_at: '2025-07-01T10:00:00Z' })).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION', message: 'body: POST /customers/{id}/rescore takes no body', hint: expect.stringContaining('POST /ingest/orders') } },
    });
    expect(await call('POST', `/customers/${id}/rescore`, keys.write, {})).toMatchObject({ status: 200 });
    const prospect = String(await store.value(`SELECT customer_id FROM customer_scores WHERE frequency = 0 ORDER BY customer_id LIMIT 1`));
    expect(await call('POST', `/customers/${prospect}/rescore`, keys.write)).toMatchObject({ status: 422, body: { error: { code: 'INSUFFICIENT_DATA' } } });
  });
});

describe('a restart after a kill -9', () => {
  it('moves the rescorings the killed server answered, left in its journal, into the store before the next server answers', async () => {
    const id = String(await store.value(`SELECT customer_id FROM customer_scores WHERE frequency > 1 ORDER BY customer_id LIMIT 1`));
    const answered = await call('POST', `/customers/${id}/rescore`, keys.write);
    expect(answered.status, answered.raw).toBe(200);
    // What a kill -9 now would leave: the journal file, its rows not yet in the store.
    const files = journalFiles(store.path);
    expect(files).toHaveLength(1);
    const left = readFileSync(files[0] as string, 'utf8');
    expect(left).toContain(answered.body.rescored_at);
    await app.rescores.settle();
    await store.run('DELETE FROM rescored_scores WHERE customer_id = ?', [id]);
    writeFileSync(`${store.path}.rescored-1.ndjson`, left);
    const next = await buildServer(store, { version: 'test', config });
    try {
      expect(journalFiles(store.path)).toEqual([]);
      const shown = await next.inject({ method: 'GET', url: `/customers/${id}`, headers: { authorization: `Bearer ${keys.read}` } });
      expect(shown.json()).toMatchObject({ rescored: { rescored_at: answered.body.rescored_at }, customer: { p_alive: answered.body.scores.p_alive } });
    } finally {
      await next.close();
    }
  });
});

describe('a first order', () => {
  it("gives a customer the run has not scored purchase-model scores at once, marked", async () => {
    const first = await call('POST', '/ingest/orders', keys.write, [{ order_id: 'rt-new-1', customer_id: 'RTNEW', ordered_at: '2023-10-25T09:00:00Z', amount: 30 }]);
    expect(first.body).toMatchObject({ customersCreated: 1, rescored: { customers: 1 } });
    const shown = await call('GET', '/customers/RTNEW');
    expect(shown.body.customer).toMatchObject({ run_id: null, frequency: 1, recency_days: 1, last_order_date: '2023-10-25' });
    expect(shown.body.customer.p_alive).toBeGreaterThan(0);
    expect(shown.body.rescored).toMatchObject({ observed_to: '2023-10-25' });
  });
});

describe('GET /customers: filters, sorting and cursors', () => {
  it('pages through score ranges sorted on a score, descending, every customer once, as the SQL orders them', async () => {
    const got = await allPages('/customers?limit=50&clv_12m_min=5&churn_risk_max=0.9&sort=-clv_12m');
    const want = await ids(`SELECT customer_id FROM customer_scores WHERE clv_12m >= 5 AND churn_risk <= 0.9 ORDER BY clv_12m DESC NULLS LAST, customer_id`);
    expect(want.length).toBeGreaterThan(100);
    expect(got).toEqual(want);
  });

  it('sorts on a date with empty values last, and combines a filter expression with RFM segments', async () => {
    const got = await allPages('/customers?limit=150&sort=churn_decisive_date');
    expect(got).toEqual(await ids(`SELECT customer_id FROM customer_scores ORDER BY churn_decisive_date NULLS LAST, customer_id`));
    const filtered = await allPages(`/customers?limit=5&filter=${encodeURIComponent('frequency >= 2 or monetary > 100')}&rfm_segment=Lost&rfm_segment=${encodeURIComponent('At risk')}`);
    const want = await ids(`SELECT customer_id FROM customer_scores WHERE (frequency >= 2 OR monetary > 100) AND rfm_segment IN ('Lost', 'At risk') ORDER BY customer_id`);
    expect(want.length).toBeGreaterThan(0);
    expect(filtered).toEqual(want);
  });

  it('refuses a bad filter with its position, an unknown sort column, and a cursor of another sort', async () => {
    const bad = await call('GET', `/customers?filter=${encodeURIComponent('clv_12m > 200 and churn_rsk > 0.5')}`);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'USAGE', position: 19 } } });
    expect(bad.body.error.hint).toContain('churn_risk');
    expect(await call('GET', '/customers?sort=-nope')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect(await call('GET', `/customers?sort=${encodeURIComponent('clv_12m;drop')}`)).toMatchObject({ status: 400 });
    expect(await call('GET', '/customers?clv_12m_min=abc')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    const first = await call('GET', '/customers?limit=3&sort=-p_alive');
    expect(await call('GET', `/customers?limit=3&sort=p_alive&cursor=${first.body.next}`)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect(await call('GET', '/customers?cursor=garbage')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
  });
});

describe('saved segments through the API', () => {
  const filter = "frequency >= 2 and rfm_segment != 'Lost'";
  it('creates, counts live, lists, shows, pages, exports and deletes a segment, with the CLI code and scopes', async () => {
    const count = await call('POST', '/segments/count', keys.read, { filter });
    const want = await ids(`SELECT customer_id FROM customer_scores WHERE frequency >= 2 AND rfm_segment <> 'Lost' ORDER BY customer_id`);
    expect(count).toMatchObject({ status: 200, body: { customers: want.length } });
    const broken = await call('POST', '/segments/count', keys.read, { filter: 'frequency >= ' });
    expect(broken).toMatchObject({ status: 400, body: { error: { code: 'USAGE', position: 14 } } });
    expect(await call('POST', '/segments', keys.read, { name: 'repeat', filter })).toMatchObject({ status: 403 });
    const created = await call('POST', '/segments', keys.write, { name: 'repeat buyers', filter, description: 'two orders or more' });
    expect(created).toMatchObject({ status: 201, body: { segment: { name: 'repeat buyers', filter }, customers: want.length } });
    expect(await call('POST', '/segments', keys.write, { name: 'repeat buyers', filter })).toMatchObject({ status: 400, body: { error: { code: 'USAGE' } } });
    // A run counts it.
    await runScores(store, { config, asOf: '2023-10-01', scorers: ['rfm'] });
    const shown = await call('GET', `/segments/${encodeURIComponent('repeat buyers')}`);
    expect(shown.status).toBe(200);
    expect(shown.body.sizes.at(-1)).toMatchObject({ customers: want.length, error: null });
    expect((await call('GET', '/segments')).body.segments.map((s: { name: string }) => s.name)).toEqual(['repeat buyers']);
    expect(await allPages(`/segments/${encodeURIComponent('repeat buyers')}/customers?limit=50`)).toEqual(want);

    const csv = await call('GET', `/segments/${encodeURIComponent('repeat buyers')}/export?format=csv&columns=customer_id,frequency,clv_12m`);
    expect(csv.status).toBe(200);
    expect(String(csv.headers['content-type'])).toContain('text/csv');
    expect(String(csv.headers['content-disposition'])).toContain('segment_repeat_buyers.csv');
    const lines = csv.raw.trim().split('\n');
    expect(lines[0]).toBe('customer_id,frequency,clv_12m');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(want);
    const ndjson = await call('GET', `/segments/${encodeURIComponent('repeat buyers')}/export?format=ndjson`);
    const rows = ndjson.raw.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r['customer_id'])).toEqual(want);
    expect(rows[0]).not.toHaveProperty('email');
    const parquet = await app.inject({ method: 'GET', url: `/segments/${encodeURIComponent('repeat buyers')}/export?format=parquet`, headers: { authorization: `Bearer ${keys.read}` } });
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    expect(await call('GET', `/segments/${encodeURIComponent('repeat buyers')}/export?columns=customer_id,email`)).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await call('GET', `/segments/${encodeURIComponent('repeat buyers')}/export?columns=customer_id,email`, keys.admin)).status).toBe(200);
    expect(await call('GET', '/segments/nobody/export')).toMatchObject({ status: 404 });

    expect(await call('DELETE', `/segments/${encodeURIComponent('repeat buyers')}`, keys.write)).toMatchObject({ status: 200, body: { deleted: 'repeat buyers' } });
    expect(await call('GET', `/segments/${encodeURIComponent('repeat buyers')}`)).toMatchObject({ status: 404 });
  });
});

describe('transitions and drift through the API', () => {
  it('gives the counts of kairos transitions, between chosen runs too, and the customers of one move page by page', async () => {
    const runs = (await store.all<{ run_id: number }>(`SELECT run_id FROM score_runs WHERE status = 'completed' ORDER BY run_id`)).map((r) => r.run_id);
    const latest = await transitions(store, 'rfm_segment');
    const got = await call('GET', '/transitions?score=rfm_segment');
    expect(got).toMatchObject({ status: 200, body: { runId: latest.runId, previousRunId: latest.previousRunId } });
    expect(got.body.counts).toEqual(latest.counts);
    // Between the first and the second run (not consecutive runs of the scorer, read from the results).
    const chosen = await call('GET', `/transitions?score=rfm_segment&from_run=${runs[0]}&to_run=${runs[1]}`);
    const direct = await store.all<{ f: string; t: string; n: number }>(
      `SELECT coalesce(a.rfm_segment, '') AS f, coalesce(b.rfm_segment, '') AS t, count(*)::INTEGER AS n FROM scores_rfm a JOIN scores_rfm b USING (customer_id)
       WHERE a.run_id = ? AND b.run_id = ? GROUP BY 1, 2`,
      [runs[0] as number, runs[1] as number],
    );
    expect(chosen.body.counts.map((c: { from: string; to: string; customers: number }) => `${c.from}>${c.to}:${c.customers}`).sort()).toEqual(direct.map((d) => `${d.f}>${d.t}:${d.n}`).sort());
    const move = [...(chosen.body.counts as { from: string; to: string; customers: number }[])].sort((a, b) => b.customers - a.customers)[0] as { from: string; to: string };
    const who = await allPages(`/transitions/customers?score=rfm_segment&from_run=${runs[0]}&to_run=${runs[1]}&from=${encodeURIComponent(move.from)}&to=${encodeURIComponent(move.to)}&limit=4`);
    expect(who).toEqual(
      await ids(
        `SELECT b.customer_id FROM scores_rfm a JOIN scores_rfm b USING (customer_id) WHERE a.run_id = ? AND b.run_id = ? AND coalesce(a.rfm_segment, '') = ? AND coalesce(b.rfm_segment, '') = ? ORDER BY 1`,
        [runs[0] as number, runs[1] as number, move.from, move.to],
      ),
    );
    expect(await call('GET', '/transitions?score=p_alive')).toMatchObject({ status: 400, body: { error: { code: 'USAGE' } } });
    const drift = await call('GET', '/drift');
    expect(drift.status).toBe(200);
    expect(drift.body.scores.some((s: { column: string }) => s.column === 'frequency')).toBe(true);
  });

  it('puts every new route in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json', null)).body;
    for (const p of ['/customers/{id}/rescore', '/segments', '/segments/count', '/segments/{name}', '/segments/{name}/customers', '/segments/{name}/export', '/transitions', '/transitions/customers', '/drift']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(Object.keys(doc.paths['/segments/{name}/export'].get.responses['200'].content)).toEqual(['text/csv', 'application/x-ndjson', 'application/vnd.apache.parquet']);
  });
});

describe('rescoring and the next run', () => {
  it('lets the next run replace the rescored values', async () => {
    await app.rescores.settle();
    const id = String(await store.value(`SELECT customer_id FROM rescored_scores WHERE observed_to = '2023-10-20'`));
    await runScores(store, { config, asOf: '2023-10-21', scorers: SCORERS });
    // What the server's runner does when a job has ended (this run was not one of its jobs): a new snapshot.
    app.serving.refresh();
    await app.servingCopyIdle();
    expect(app.serving.serving).toBe(true);
    const shown = await call('GET', `/customers/${id}`);
    expect(shown.body.rescored).toBeNull();
    expect(shown.body.customer.p_alive).toBe(Number(await store.value('SELECT p_alive FROM customer_scores WHERE customer_id = ?', [id])));
    expect(shown.body.customer.last_order_date).toBe('2023-10-20');
  });
});

describe('a snapshot never published', () => {
  it('has its files removed (a run that failed after making its snapshot), the one in use still serving', async () => {
    app.serving.refresh();
    await app.servingCopyIdle();
    const id = String(await store.value(`SELECT customer_id FROM customer_scores WHERE run_id IS NOT NULL ORDER BY customer_id LIMIT 1`));
    const files = snapshotFiles(store.path);
    const meta = JSON.parse(readFileSync(files.meta, 'utf8')) as { key: string };
    writeFileSync(files.meta, JSON.stringify({ ...meta, key: `${meta.key} (of a run that failed)` }));
    app.serving.refresh();
    await app.servingCopyIdle();
    expect([existsSync(files.meta), existsSync(files.data)]).toEqual([false, false]);
    expect(app.serving.serving).toBe(true);
    expect(app.serving.find(id)?.row['customer_id']).toBe(id);
  });
});

