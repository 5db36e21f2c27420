// Per-run summaries: the population stability index by hand, and the summaries two scoring runs leave (quantiles, deciles, drift, migration).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { runScores } from '../scores/run.js';
import { Store } from '../store/db.js';
import { expectClose } from '../testing/expect-close.js';
import { writeFixtureOrders } from '../testing/orders-fixture.js';
import { ingest } from '../ingest/ingest.js';
import { populationStabilityIndex, psiVerdict, runSummaries, type CategoricalSummary, type NumericSummary } from './summaries.js';

describe('population stability index', () => {
  it('is sum (a - e) ln(a / e) over the shares (Siddiqi 2006), 0 for the same shares, floored for empty bins', () => {
    // Shares 0.5/0.5 against 0.4/0.6: (0.4 - 0.5) ln(0.8) + (0.6 - 0.5) ln(1.2).
    expectClose(populationStabilityIndex([50, 50], [40, 60]) as number, -0.1 * Math.log(0.8) + 0.1 * Math.log(1.2), { rtol: 1e-12 });
    expect(populationStabilityIndex([10, 20, 30], [1, 2, 3])).toBe(0);
    // An empty bin counts as a share of 1e-4, not as an infinite index.
    expectClose(populationStabilityIndex([1, 1], [0, 2]) as number, (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + 0.5 * Math.log(2), { rtol: 1e-12 });
    expect(populationStabilityIndex([0, 0], [1, 2])).toBeNull();
    expect(psiVerdict(0.05)).toBe('stable');
    expect(psiVerdict(0.2)).toBe('moderate shift');
    expect(psiVerdict(0.3)).toBe('major shift');
  });
});

describe('summaries of two scoring runs', () => {
  let dir: string;
  let store: Store;
  let first: number;
  let second: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kairos-summaries-'));
    store = await Store.open(join(dir, 'k.duckdb'));
    await ingest(store, { entity: 'orders', files: [writeFixtureOrders(dir)], rejectsDir: dir });
    first = (await runScores(store, { config: DEFAULT_CONFIG, asOf: '2023-08-01', scorers: ['rfm'] })).runId;
    second = (await runScores(store, { config: DEFAULT_CONFIG, asOf: '2023-12-01', scorers: ['rfm'] })).runId;
  }, 120_000);
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps each numeric score's quantiles and deciles as SQL computes them, and its customers in the previous run's bins", async () => {
    const s = (await runSummaries(store, second)).get('monetary')?.summary as NumericSummary;
    const q = await store.one<{ n: number; median: number; p90: number }>(
      `SELECT count(monetary)::DOUBLE AS n, quantile_cont(monetary, 0.5) AS median, quantile_cont(monetary, 0.9) AS p90 FROM scores_rfm WHERE run_id = ?`,
      [second],
    );
    expect(s.kind).toBe('number');
    expect(s.n).toBe(q?.n);
    // approx_quantile: a t-digest, close to the exact quantile on a few hundred customers.
    expectClose(s.quantiles[4] as number, q?.median as number, { rtol: 0.05 });
    expectClose(s.quantiles[6] as number, q?.p90 as number, { rtol: 0.05 });
    expect(s.edges).toHaveLength(9);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(s.n);
    const before = (await runSummaries(store, first)).get('monetary')?.summary as NumericSummary;
    expect(before.previous).toBeNull();
    expect(s.previous?.runId).toBe(first);
    // This run's customers in the first run's bins: recomputed by hand from the first run's edges.
    const want = new Array<number>(10).fill(0);
    const values = await store.all<{ v: number }>('SELECT monetary::DOUBLE AS v FROM scores_rfm WHERE run_id = ? AND monetary IS NOT NULL', [second]);
    for (const { v } of values) {
      const k = before.edges.findIndex((e) => v <= e);
      want[k < 0 ? 9 : k] = (want[k < 0 ? 9 : k] as number) + 1;
    }
    expect(s.previous?.counts).toEqual(want);
    expectClose(s.previous?.psi as number, populationStabilityIndex(before.counts, want) as number, { rtol: 1e-12 });
  });

  it('counts each category, and who moved from which RFM segment to which between the two runs', async () => {
    const s = (await runSummaries(store, second)).get('rfm_segment')?.summary as CategoricalSummary;
    expect(s.kind).toBe('category');
    const counts = await store.all<{ v: string; n: number }>(`SELECT rfm_segment AS v, count(*)::DOUBLE AS n FROM scores_rfm WHERE run_id = ? GROUP BY 1`, [second]);
    expect(s.counts).toEqual(Object.fromEntries(counts.map((c) => [c.v, c.n])));
    const both = Number(
      await store.value(`SELECT count(*) FROM scores_rfm a JOIN scores_rfm b USING (customer_id) WHERE a.run_id = ? AND b.run_id = ?`, [first, second]),
    );
    expect(s.previous?.migration.reduce((a, m) => a + m.customers, 0)).toBe(both);
    const stayed = Number(
      await store.value(
        `SELECT count(*) FROM scores_rfm a JOIN scores_rfm b USING (customer_id) WHERE a.run_id = ? AND b.run_id = ? AND a.rfm_segment = 'Champions' AND b.rfm_segment = 'Champions'`,
        [first, second],
      ),
    );
    expect(s.previous?.migration.find((m) => m.from === 'Champions' && m.to === 'Champions')?.customers ?? 0).toBe(stayed);
    expect(s.previous?.psi).toBeGreaterThan(0);
  });
});
