// The dashboard in-process (app.inject) on a toy store with two runs: sign-in and sessions, CSRF, scopes and personal
// fields, pages built from the stored summaries and cached aggregates, live accuracy against SQL, the builder's count, exports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { saveEvaluation } from '../evaluate/stored.js';
import { purchaseDaysSql } from '../features/purchases.js';
import { DEFAULT_REGISTRY } from '../scores/registry.js';
import { customerScoresFor } from '../scores/results.js';
import { runScores } from '../scores/run.js';
import { compileSegmentFilter, countFilter, saveSegment } from '../segments/segments.js';
import { buildServer } from '../server/app.js';
import { createKey, revokeKey } from '../server/keys.js';
import type { Store } from '../store/db.js';
import { expectClose } from '../testing/expect-close.js';
import { fixtureReport } from '../testing/report-fixture.js';
import { toyStore } from '../testing/toy-scorers.js';
import { formatMoney } from '../util/format.js';
import { computeLiveAccuracy } from './aggregates.js';
import { dashboardPlugin } from './plugin.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
const keys: Record<'read' | 'write' | 'admin', { key: string; keyId: string }> = { read: { key: '', keyId: '' }, write: { key: '', keyId: '' }, admin: { key: '', keyId: '' } };
const FILTER = "frequency >= 2 and rfm_segment in ('Champions', 'Loyal')";

async function signIn(key: string): Promise<{ cookie: string; csrf: string }> {
  const res = await app.inject({ method: 'POST', url: '/dashboard/login', payload: `key=${encodeURIComponent(key)}&next=%2Fdashboard%2Fsegments`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(res.statusCode).toBe(303);
  const cookie = String(res.headers['set-cookie']).split(';')[0] as string;
  const page = await app.inject({ method: 'GET', url: '/dashboard/segments', headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  return { cookie, csrf };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-dashboard-'));
  store = await toyStore(dir, join(dir, 'k.duckdb'));
  const config = structuredClone(DEFAULT_CONFIG);
  await runScores(store, { config, asOf: '2023-07-01', scorers: ['rfm', 'clv'] });
  await saveSegment(store, { name: 'keepers', filter: FILTER });
  await runScores(store, { config, asOf: '2023-10-01', scorers: ['rfm', 'clv', 'recommend'] });
  await saveEvaluation(store, fixtureReport);
  for (const scope of ['read', 'write', 'admin'] as const) keys[scope] = await createKey(store, scope);
  app = await buildServer(store, { version: 'test', plugins: [dashboardPlugin] });
}, 120_000);

afterAll(async () => {
  await app?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard: sign-in and sessions', () => {
  it('sends a browser without a session to the sign-in page, and answers JSON 401 on its API', async () => {
    const res = await app.inject({ method: 'GET', url: '/dashboard/evolution?score=clv_12m' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/dashboard/login?next=%2Fdashboard%2Fevolution%3Fscore%3Dclv_12m');
    expect((await app.inject({ method: 'GET', url: '/' })).headers.location).toBe('/dashboard');
    const api = await app.inject({ method: 'GET', url: '/dashboard/api/count?filter=frequency%20%3E%201' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('takes a key once and sets an HttpOnly, SameSite=Strict session cookie that holds no part of the key', async () => {
    const bad = await app.inject({ method: 'POST', url: '/dashboard/login', payload: form({ key: 'kairos_000000000000_nope' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain('This key is not valid');
    const res = await app.inject({ method: 'POST', url: '/dashboard/login', payload: form({ key: keys.read.key, next: 'https://evil.example/' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/dashboard');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^kairos_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(cookie).not.toContain(keys.read.key.split('_')[2] as string);
    const page = await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie: cookie.split(';')[0] as string } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body).toContain(`key ${keys.read.keyId} (read)`);
  });

  it('ends the session when its key is revoked, and on sign-out (a POST with the CSRF token)', async () => {
    const temp = await createKey(store, 'read');
    const s = await signIn(temp.key);
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    await revokeKey(store, temp.keyId);
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie: s.cookie } })).statusCode).toBe(303);
    const t = await signIn(keys.read.key);
    const forged = await app.inject({ method: 'POST', url: '/dashboard/logout', payload: form({ _csrf: 'x' }), headers: { cookie: t.cookie, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(forged.statusCode).toBe(403);
    const out = await app.inject({ method: 'POST', url: '/dashboard/logout', payload: form({ _csrf: t.csrf }), headers: { cookie: t.cookie, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie: t.cookie } })).statusCode).toBe(303);
  });
});

describe('dashboard: pages', () => {
  it('shows customers and revenue with the currency as SQL counts them, computed once per run and kept', async () => {
    const { cookie } = await signIn(keys.read.key);
    const first = await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie } });
    expect(first.statusCode).toBe(200);
    const customers = Number(await store.value('SELECT count(*) FROM customers'));
    const revenue = Number(await store.value('SELECT sum(amount) FROM orders'));
    expect(first.body).toContain(`<span class="value">${customers.toLocaleString('en-US')}</span>`);
    expect(first.body).toContain(formatMoney(revenue, 'EUR'));
    expect(first.body).toContain('The RFM grid');
    expect(first.body).toMatch(/<svg[^>]*aria-label=/);
    const kept = await store.all<{ name: string; computed_at: string }>("SELECT name, computed_at::VARCHAR AS computed_at FROM dashboard_cache WHERE name = 'overview'");
    expect(kept).toHaveLength(1);
    // The RFM grid kept is the view's, though read from the RFM results alone.
    const overview = JSON.parse(await store.value<string>("SELECT value::VARCHAR FROM dashboard_cache WHERE name = 'overview'")) as { rfmGrid: unknown[] };
    const grid = await store.all<{ r: number; f: number; n: number }>('SELECT r_score AS r, f_score AS f, count(*)::DOUBLE AS n FROM customer_scores WHERE r_score IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2');
    expect(overview.rfmGrid.map((g) => { const x = g as { r: number; f: number; customers: number }; return { r: x.r, f: x.f, n: x.customers }; })).toEqual(grid.map((g) => ({ r: Number(g.r), f: Number(g.f), n: Number(g.n) })));
    await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie } });
    expect(await store.all("SELECT name, computed_at::VARCHAR AS computed_at FROM dashboard_cache WHERE name = 'overview'")).toEqual(kept);
  });

  it('shows each score by run, drift, segment sizes by run, the migration between runs and the live accuracy', async () => {
    const { cookie } = await signIn(keys.read.key);
    const res = await app.inject({ method: 'GET', url: '/dashboard/evolution?score=monetary&category=rfm_segment&accuracy_run=1', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Distribution by run');
    expect(res.body).toMatch(/class="badge (stable|moderate|major)">\d\.\d{3}/);
    expect(res.body).toContain('Saved segments by run');
    expect(res.body).toMatch(/customers scored in both run 1 and run 2/);
    expect(res.body).toContain('what run 1 predicted');
    expect(res.body).not.toContain('NaN');
  });

  it('live accuracy: what run 1 predicted against purchase days after its as-of, counted independently; a horizon not yet passed waits', async () => {
    const acc = await computeLiveAccuracy(store, 1, DEFAULT_CONFIG);
    expect(acc.asOf).toBe('2023-07-01');
    const expected = acc.checks.find((c) => c.score === 'expected_purchases_90d');
    expect(expected?.status).toBe('measured');
    const truth = await store.one<{ n: number; p: number; o: number }>(
      `SELECT count(*)::DOUBLE AS n, avg(s.expected_purchases_90d) AS p, avg(coalesce(d.k, 0)) AS o FROM scores_clv s
       LEFT JOIN (SELECT customer_id, count(*) AS k FROM (${purchaseDaysSql('orders')}) WHERE day >= DATE '2023-07-01' AND day < DATE '2023-09-29' GROUP BY 1) d USING (customer_id)
       WHERE s.run_id = 1 AND s.expected_purchases_90d IS NOT NULL`,
    );
    expect(expected?.customers).toBe(truth?.n);
    expectClose(expected?.meanPredicted as number, truth?.p as number, { rtol: 1e-9 });
    expectClose(expected?.meanObserved as number, truth?.o as number, { rtol: 1e-9 });
    expect(expected?.bins).toHaveLength(10);
    const pAlive = acc.checks.find((c) => c.score === 'p_alive');
    expect(pAlive?.observedInterval?.lower).toBeLessThanOrEqual(pAlive?.meanObserved as number);
    const later = await computeLiveAccuracy(store, 2, DEFAULT_CONFIG);
    const waiting = later.checks.find((c) => c.score === 'expected_purchases_90d');
    expect(waiting).toMatchObject({ status: 'waiting', daysToWait: 90 - later.elapsedDays, customers: 0 });
    expect(later.checks.find((c) => c.score === 'churn_risk')?.status).toBe('absent');
  });

  it("shows a customer's scores in words, history and recommendations; personal fields only to admin", async () => {
    const read = await signIn(keys.read.key);
    const page = await app.inject({ method: 'GET', url: '/dashboard/customers/K0001', headers: { cookie: read.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('In words');
    expect(page.body).toContain('History over runs');
    expect(page.body).toContain('Recommendations');
    expect(page.body).not.toContain('k1@example.org');
    expect(page.body).toContain('Personal fields hidden for a read key: email');
    const admin = await signIn(keys.admin.key);
    expect((await app.inject({ method: 'GET', url: '/dashboard/customers/K0001', headers: { cookie: admin.cookie } })).body).toContain('k1@example.org');
    const missing = await app.inject({ method: 'GET', url: '/dashboard/customers/NOPE%3Cscript%3E', headers: { cookie: read.cookie } });
    expect(missing.body).toContain('customer &quot;NOPE&lt;script&gt;&quot; not found');
  });

  it('lists the kept evaluations and serves each report, also as JSON on the API', async () => {
    const { cookie } = await signIn(keys.read.key);
    expect((await app.inject({ method: 'GET', url: '/dashboard/evaluations', headers: { cookie } })).body).toContain(fixtureReport.title);
    const report = await app.inject({ method: 'GET', url: '/dashboard/evaluations/1/report', headers: { cookie } });
    expect(report.body.match(/<svg\b/g)?.length).toBe(fixtureReport.scores.reduce((n, s) => n + s.charts.length, 0));
    const api = await app.inject({ method: 'GET', url: '/evaluations/1', headers: { authorization: `Bearer ${keys.read.key}` } });
    expect(api.json().evaluation.grades).toEqual(fixtureReport.scores.map((s) => ({ score: s.name, grade: s.grade.grade })));
    expect((await app.inject({ method: 'GET', url: '/evaluations/9', headers: { authorization: `Bearer ${keys.read.key}` } })).statusCode).toBe(404);
  });
});

describe('dashboard: segments and exports', () => {
  it('counts a filter live (the count of the filter in SQL), and points at the place of an error', async () => {
    const { cookie } = await signIn(keys.read.key);
    // The count joins only the scorers the filter reads: the same customers as the whole view.
    for (const f of [FILTER, 'country is null and p_alive > 0.5 and frequency >= 1', 'recommendations_1 is not null or monetary > 500', 'run_id = 2']) {
      const res = await app.inject({ method: 'GET', url: `/dashboard/api/count?filter=${encodeURIComponent(f)}`, headers: { cookie } });
      expect(res.json().customers, f).toBe(await countFilter(store, await compileSegmentFilter(store, f)));
    }
    expect(await customerScoresFor(store, DEFAULT_REGISTRY, ['run_id'])).toBe('customer_scores');
    const bad = await app.inject({ method: 'GET', url: `/dashboard/api/count?filter=${encodeURIComponent('clv_12m > 1 and churn_rsk > 0')}`, headers: { cookie } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('unknown column "churn_rsk" (at character 17)');
    // A count on a personal field would reveal it: admin keys only.
    const personal = await app.inject({ method: 'GET', url: `/dashboard/api/count?filter=${encodeURIComponent("email = 'k1@example.org'")}`, headers: { cookie } });
    expect(personal.statusCode).toBe(403);
    const admin = await signIn(keys.admin.key);
    expect((await app.inject({ method: 'GET', url: `/dashboard/api/count?filter=${encodeURIComponent("email = 'k1@example.org'")}`, headers: { cookie: admin.cookie } })).json().customers).toBe(1);
  });

  it('saves a segment with a write key and the CSRF token only; a read key may not', async () => {
    const read = await signIn(keys.read.key);
    const body = form({ name: 'big spenders', filter: 'monetary > 100', _csrf: read.csrf });
    const headers = (cookie: string) => ({ cookie, 'content-type': 'application/x-www-form-urlencoded' });
    expect((await app.inject({ method: 'POST', url: '/dashboard/segments', payload: body, headers: headers(read.cookie) })).statusCode).toBe(403);
    const write = await signIn(keys.write.key);
    expect((await app.inject({ method: 'POST', url: '/dashboard/segments', payload: form({ name: 'big spenders', filter: 'monetary > 100' }), headers: headers(write.cookie) })).statusCode).toBe(403);
    const crossSite = await app.inject({ method: 'POST', url: '/dashboard/segments', payload: form({ name: 'x', filter: 'monetary > 1', _csrf: write.csrf }), headers: { ...headers(write.cookie), origin: 'https://evil.example' } });
    expect(crossSite.statusCode).toBe(403);
    const bad = await app.inject({ method: 'POST', url: '/dashboard/segments', payload: form({ name: 'typo', filter: 'monetry > 1', _csrf: write.csrf }), headers: headers(write.cookie) });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('unknown column &quot;monetry&quot;');
    const ok = await app.inject({ method: 'POST', url: '/dashboard/segments', payload: form({ name: 'big spenders', filter: 'monetary > 100', _csrf: write.csrf }), headers: headers(write.cookie) });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/dashboard/segments/big%20spenders');
    expect(Number(await store.value("SELECT count(*) FROM segments WHERE name = 'big spenders'"))).toBe(1);
    const del = await app.inject({ method: 'POST', url: '/dashboard/segments/big%20spenders/delete', payload: form({ _csrf: write.csrf }), headers: headers(write.cookie) });
    expect(del.statusCode).toBe(303);
    expect(Number(await store.value("SELECT count(*) FROM segments WHERE name = 'big spenders'"))).toBe(0);
  });

  it('downloads the CRM wide table of a segment (chosen columns, one row per customer); email only with admin', async () => {
    const want = await countFilter(store, await compileSegmentFilter(store, FILTER));
    const read = await signIn(keys.read.key);
    const csv = await app.inject({ method: 'GET', url: '/dashboard/segments/keepers/export?format=csv&shape=crm&columns=customer_id&columns=clv_12m&columns=rfm_segment', headers: { cookie: read.cookie } });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="segment_keepers_crm.csv"');
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('customer_id,clv_12m,rfm_segment');
    expect(lines.length - 1).toBe(want);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(want);
    const personal = await app.inject({ method: 'GET', url: '/dashboard/segments/keepers/export?format=csv&columns=customer_id&columns=email', headers: { cookie: read.cookie } });
    expect(personal.statusCode).toBe(403);
    const admin = await signIn(keys.admin.key);
    const ndjson = await app.inject({ method: 'GET', url: '/dashboard/segments/keepers/export?format=json&shape=crm&columns=customer_id&columns=email', headers: { cookie: admin.cookie } });
    const rows = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as { customer_id: string; email: string });
    expect(rows).toHaveLength(want);
    expect(rows[0]?.email).toMatch(/@example\.org$/);
    const parquet = await app.inject({ method: 'GET', url: '/dashboard/segments/keepers/export?format=parquet', headers: { cookie: read.cookie } });
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
  });
});
