// Recommender benchmark (issue #11): a synthetic shop of 1M customers x 50k products x 20M events; times and peak memory of building the matrix, item-knn, ALS, top-10 for everyone, one-customer latency.
//
//   npx tsx bench/recommend.ts [--users 1000000] [--items 50000] [--nnz 20000000] [--factors 64] [--iterations 15]
//                              [--threads 2] [--als-users N] [--seed 42]
//
// The shop (src/ml/recommend/synthetic.ts, seed 42): 200 taste groups, Zipf(1) item popularity, views / carts /
// purchases weighted by recency, 2% returns, one held-out purchase per customer. Each step is timed from its call to
// its return; peak RSS is process.resourceUsage().maxRSS at the end (the generator's arrays included). ALS top-10
// for every customer costs users x items x factors multiply-adds; --als-users times it on the first N customers
// (the rest of the table is the same work) and the figure is scaled to all of them, saying so. Ranking metrics are
// on the held-out purchases (for ALS, of the customers it ran for). Results: stdout and bench/out/recommend.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { buildInteractions, type Csr } from '../src/ml/recommend/interactions.js';
import { recommend, recommendAll, RECOMMENDERS, type FitResult, type RecommendationTable } from '../src/ml/recommend/index.js';
import { rankingMetrics, type RankingMetrics } from '../src/ml/recommend/metrics.js';
import { syntheticShop } from '../src/ml/recommend/synthetic.js';
import { median, option } from './machine.js';

const num = (name: string, fallback: number): number => Number(option(name, String(fallback)));
const users = num('--users', 1_000_000);
const items = num('--items', 50_000);
const nnz = num('--nnz', 20_000_000);
const factors = num('--factors', 64);
const iterations = num('--iterations', 15);
const threads = num('--threads', 2);
const seed = num('--seed', 42);
const alsUsers = Math.min(users, num('--als-users', users));

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
const peakMib = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
const log = (msg: string): void => console.log(`[${(performance.now() / 1000).toFixed(1)}s, rss ${mib(process.memoryUsage().rss)} MiB] ${msg}`);

async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  log(`${label}: ${seconds.toFixed(2)} s`);
  return { value, seconds };
}

/** The first `n` rows of a CSR matrix (a view). */
function firstRows(m: Csr, n: number): Csr {
  return { ...m, rows: n, indptr: m.indptr.subarray(0, n + 1) };
}

/** One-customer latency: median and 95th percentile over `n` seeded customers with history, in milliseconds. */
function latency(fit: FitResult, m: Parameters<typeof recommend>[1], n: number): { medianMs: number; p95Ms: number } {
  const times: number[] = [];
  let u = 12345 % m.users;
  for (let t = 0; t < n; t++) {
    u = (u * 48271 + 11) % m.users;
    const t0 = performance.now();
    recommend(fit, m, u, 10);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: median(times), p95Ms: times[Math.floor(0.95 * (times.length - 1))] as number };
}

async function main(): Promise<void> {
  const load = loadavg();
  log(`shop ${users} customers x ${items} products x ${nnz} events, ${threads} threads, load ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const shop = (await timed('generate', () => syntheticShop({ users, items, nnz, groups: 200, zipf: 1, holdout: 1, seed }))).value;
  const events = shop.train.user.length;
  const build = await timed('build matrix', () => buildInteractions(users, items, shop.train));
  const m = build.value;
  const holdout = buildInteractions(users, items, shop.holdout).byUser;
  log(`nnz ${m.nnz} (from ${events} events)`);
  const itemUsers = Array.from({ length: items }, (_, i) => (m.byItem.indptr[i + 1] as number) - (m.byItem.indptr[i] as number));
  const metricsOf = (t: RecommendationTable): RankingMetrics =>
    rankingMetrics(t.items, t.k, firstRows(holdout, t.users), { itemUsers, trainUsers: users, catalogue: items });
  const report: Record<string, unknown> = {
    shop: { users, items, events, nnz: m.nnz, seed },
    threads,
    loadAtStart: load,
    buildSeconds: build.seconds,
  };

  const pop = await RECOMMENDERS.popularity.fit(m);
  const popAll = await timed('popularity top-10 for all', () => recommendAll(pop, m, 10, undefined, { threads }));
  report.popularity = { top10Seconds: popAll.seconds, metrics: metricsOf(popAll.value) };
  const again = await RECOMMENDERS['buy-again'].fit(m);
  const againAll = await timed('buy-again top-10 for all', () =>
    recommendAll(again, m, 10, { excludeBought: false, bought: null, repurchasable: null, recommendable: null }, { threads }),
  );
  report.buyAgain = { top10Seconds: againAll.seconds, metrics: metricsOf(againAll.value) };
  log(`popularity ${JSON.stringify(report.popularity)}`);

  const knn = await timed('item-knn fit (bm25, 100 neighbours)', () => RECOMMENDERS['item-knn'].fit(m, { threads }));
  const knnAll = await timed('item-knn top-10 for all', () => recommendAll(knn.value, m, 10, undefined, { threads }));
  const knnLatency = latency(knn.value, m, 1000);
  report.itemKnn = { fitSeconds: knn.seconds, pairs: knn.value.diagnostics.pairs, top10Seconds: knnAll.seconds, latency: knnLatency, metrics: metricsOf(knnAll.value) };
  log(`item-knn ${JSON.stringify(report.itemKnn)}`);

  const als = await timed(`ALS fit (${factors} factors, ${iterations} iterations)`, () =>
    RECOMMENDERS.als.fit(m, { factors, iterations, threads, onIteration: (it, s, l) => log(`ALS iteration ${it}: ${s.toFixed(2)} s, loss ${l.toExponential(4)}`) }),
  );
  const d = als.value.diagnostics;
  log(`ALS seconds per iteration ${d.secondsPerIteration.map((s) => s.toFixed(2)).join(' ')}; loss ${d.loss.map((l) => l.toExponential(4)).join(' ')}`);
  const alsLatency = latency(als.value, m, 1000);
  log(`ALS one-customer latency ${JSON.stringify(alsLatency)}`);
  const alsAll = await timed(`ALS top-10 for ${alsUsers} customers`, () => recommendAll(als.value, m, 10, undefined, { threads, users: alsUsers }));
  const alsReport = {
    factors,
    iterations,
    nnz: d.nnz,
    fitSeconds: als.seconds,
    secondsPerIteration: d.secondsPerIteration,
    medianSecondsPerIteration: median(d.secondsPerIteration),
    loss: d.loss,
    latency: alsLatency,
    top10Users: alsUsers,
    top10Seconds: alsAll.seconds,
    top10SecondsAllUsers: (alsAll.seconds * users) / Math.max(1, alsUsers),
    top10Extrapolated: alsUsers < users,
    metrics: metricsOf(alsAll.value),
  };
  report.als = alsReport;
  log(`ALS ${JSON.stringify({ ...alsReport, loss: undefined, secondsPerIteration: undefined })}`);
  report.peakRssMiB = peakMib();
  report.loadAtEnd = loadavg();
  log(`peak RSS ${report.peakRssMiB} MiB`);
  mkdirSync(resolve('bench/out'), { recursive: true });
  writeFileSync(resolve('bench/out/recommend.json'), JSON.stringify(report, null, 2));
  console.log(JSON.stringify(report));
}

await main();
