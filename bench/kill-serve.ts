// Crash safety of kairos serve: the server killed (SIGKILL) during a scoring run and during ingests; nothing acknowledged is lost, the run is reported failed at the next start.
//
//   npm run build && npx tsx bench/kill-serve.ts [--kills 12] [--customers 3000]
//
// Makes a demo store once (kairos demo: one completed run) with a write key, then for each kill copies it, starts
// `node bin/kairos.js serve` on the copy and, in turn, starts a full scoring run with POST /runs and kills the server
// after a delay spread over a run's duration, or sends orders with POST /ingest/orders, 20 per request, as fast as
// they are answered, or rescores customers with POST /customers/{id}/rescore over 10 connections (every answered
// rescoring must be stored, or a later one of the customer), and kills the server after a delay. Then it checks the store with the server
// down (every order whose request was answered 200 is there; no customer_scores or score_history row of a run that is
// not completed), starts the server again (it must report the killed run as interrupted when it was not completed:
// GET /runs/{id} says failed), and runs a scoring run through the API to completion (the run lock of the killed
// server is taken over). It prints each kill's outcome and the counts; exit code 1 on any violation.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Store } from '../src/store/db.js';
import { option } from './machine.js';
import { journalFiles } from '../src/scores/rescore-journal.js';

const kills = Number(option('--kills', '12'));
const customers = option('--customers', '3000');
const dir = resolve('bench/out/kill-serve');
const base = resolve(dir, 'base.duckdb');
const work = resolve(dir, 'work.duckdb');
const bin = resolve('bin/kairos.js');
if (!existsSync(resolve('dist/server/run-worker.js'))) throw new Error('dist/ is missing or old: run npm run build first');

mkdirSync(dir, { recursive: true });
if (!existsSync(base)) {
  const made = spawnSync('node', [bin, '--db', base, '--quiet', 'demo', '--customers', customers, '--data-dir', resolve(dir, 'demo-files')], { stdio: 'inherit' });
  if (made.status !== 0) throw new Error('kairos demo failed');
  const key = spawnSync('node', [bin, '--db', base, '--json', 'keys', 'create', '--scope', 'write', '--name', 'bench'], { encoding: 'utf8' });
  if (key.status !== 0) throw new Error(`kairos keys create failed: ${key.stderr}`);
  // Written beside the store (bench/out is not committed): the key is shown once.
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${base}.key`, (JSON.parse(key.stdout) as { key: string }).key);
}
const key = readFileSync(`${base}.key`, 'utf8').trim();
/** 100 customers with orders, for the rescorings. */
const buyers = await (async () => {
  const store = await Store.open(base, { readOnly: true });
  try {
    return (await store.all<{ customer_id: string }>('SELECT DISTINCT customer_id FROM orders ORDER BY customer_id LIMIT 100')).map((r) => r.customer_id);
  } finally {
    store.close();
  }
})();

function fresh(): void {
  for (const f of [work, `${work}.wal`, `${work}.run.lock`, `${work}.serve.json`]) rmSync(f, { force: true });
  for (const f of journalFiles(work)) rmSync(f, { force: true });
  copyFileSync(base, work);
}

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly started: { interruptedRuns: number[] };
}

/** Starts `kairos serve` on the work copy; resolves with its address once it listens. */
function serve(): Promise<Server> {
  return new Promise((done, fail) => {
    const child = spawn('node', [bin, '--db', work, '--json', 'serve', '--port', '0', '--rate-limit', '1000000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const started = JSON.parse(line) as { listening: string; interruptedRuns: number[] };
        done({ child, url: started.listening, started });
      }
    });
    child.on('exit', (code) => fail(new Error(`kairos serve exited (${code}) before listening`)));
  });
}

async function api(s: Server, method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

function kill(s: Server, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((done) => {
    s.child.once('exit', () => done());
    s.child.kill(signal);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A full run through the API, from POST /runs to its end: seconds. */
async function timedRun(): Promise<number> {
  fresh();
  const s = await serve();
  const t0 = performance.now();
  const started = await api(s, 'POST', '/runs', {});
  if (started.status !== 202) throw new Error(`POST /runs: ${JSON.stringify(started.body)}`);
  for (;;) {
    const job = await api(s, 'GET', `/jobs/${started.body.jobId}`);
    if (job.body.status !== 'running') break;
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  await kill(s);
  return seconds;
}

type Outcome = 'completed' | 'interrupted, reported failed' | 'ingest: all acknowledged kept' | 'rescoring: all acknowledged kept' | 'VIOLATION';

async function killDuringRun(delayMs: number): Promise<{ outcome: Outcome; detail: string }> {
  fresh();
  let s = await serve();
  const started = await api(s, 'POST', '/runs', {});
  if (started.status !== 202) return { outcome: 'VIOLATION', detail: `POST /runs: ${JSON.stringify(started.body)}` };
  const runId = started.body.runId as number;
  await sleep(delayMs);
  await kill(s);
  const problems = await checkStore([]);
  s = await serve();
  try {
    const run = await api(s, 'GET', `/runs/${runId}`);
    const status = run.body.status as string;
    if (status === 'running') problems.push(`run ${runId} still 'running' after the restart`);
    if (status === 'failed' && !s.started.interruptedRuns.includes(runId)) problems.push(`run ${runId} failed but not reported interrupted at the start`);
    problems.push(...(await nextRun(s)));
    if (problems.length) return { outcome: 'VIOLATION', detail: problems.join('; ') };
    return status === 'completed' ? { outcome: 'completed', detail: `run ${runId} completed before the kill` } : { outcome: 'interrupted, reported failed', detail: `run ${runId} ${status}: ${run.body.notes?.[0] ?? ''}` };
  } finally {
    await kill(s);
  }
}

async function killDuringIngest(delayMs: number, k: number): Promise<{ outcome: Outcome; detail: string }> {
  fresh();
  const s = await serve();
  const acknowledged: string[] = [];
  let stop = false;
  const sender = (async () => {
    for (let b = 0; !stop; b++) {
      const ids = Array.from({ length: 20 }, (_, i) => `kill${k}-b${b}-${i}`);
      const body = ids.map((id, i) => JSON.stringify({ order_id: id, customer_id: `C${String(1 + ((b * 20 + i) % 100)).padStart(5, '0')}`, ordered_at: '2024-01-02T10:00:00Z', amount: 10 + i })).join('\n');
      try {
        const res = await api(s, 'POST', '/ingest/orders', body, 'application/x-ndjson');
        if (res.status === 200) acknowledged.push(...ids);
      } catch {
        return; // the server is gone: this request was not acknowledged
      }
    }
  })();
  await sleep(delayMs);
  await kill(s);
  stop = true;
  await sender;
  const problems = await checkStore(acknowledged);
  return restartAndRun(problems, 'ingest: all acknowledged kept', `${acknowledged.length} acknowledged orders all stored`);
}

/** After the checks with the server down: the server started again, where a new run must complete; the kill's outcome. */
async function restartAndRun(problems: string[], outcome: Outcome, detail: string): Promise<{ outcome: Outcome; detail: string }> {
  const s = await serve();
  try {
    problems.push(...(await nextRun(s)));
  } finally {
    await kill(s);
  }
  return problems.length ? { outcome: 'VIOLATION', detail: problems.join('; ') } : { outcome, detail };
}

async function killDuringRescoring(delayMs: number): Promise<{ outcome: Outcome; detail: string }> {
  fresh();
  const s = await serve();
  // Every answered rescoring (POST /customers/{id}/rescore, 10 at a time): customer and rescored_at.
  const acknowledged: { id: string; at: string }[] = [];
  let stop = false;
  const ids = buyers;
  const sender = async (w: number): Promise<void> => {
    for (let b = w; !stop; b += 10) {
      const id = ids[b % ids.length] as string;
      try {
        const res = await api(s, 'POST', `/customers/${id}/rescore`);
        if (res.status === 200) acknowledged.push({ id, at: res.body.rescored_at as string });
      } catch {
        return; // the server is gone: this request was not acknowledged
      }
    }
  };
  const senders = Promise.all(Array.from({ length: 10 }, (_, w) => sender(w)));
  await sleep(delayMs);
  await kill(s);
  stop = true;
  await senders;
  const problems = await checkStore([]);
  // Each answered rescoring must be in the store, or a later one of the same customer (which replaced it).
  const missing = async (): Promise<{ id: string; at: string }[]> => {
    const store = await Store.open(work);
    try {
      const latest = new Map((await store.all<{ customer_id: string; at: string }>(`SELECT customer_id, strftime(max(rescored_at), '%Y-%m-%dT%H:%M:%S.%gZ') AS at FROM rescored_scores GROUP BY customer_id`)).map((r) => [r.customer_id, r.at]));
      return acknowledged.filter((a) => (latest.get(a.id) ?? '') < a.at);
    } finally {
      store.close();
    }
  };
  // At the kill, the newest ones are in the journal only: the next start moves them into the store before it answers.
  const atKill = (await missing()).length;
  const left = journalFiles(work).length;
  await kill(await serve(), 'SIGTERM');
  const lost = await missing();
  if (acknowledged.length === 0) problems.push('no rescoring was answered before the kill: nothing checked');
  if (lost.length > 0) problems.push(`${lost.length} of ${acknowledged.length} answered rescorings missing (e.g. ${lost[0]?.id} at ${lost[0]?.at})`);
  if (journalFiles(work).length > 0) problems.push('journal files left after a restart and a stop');
  const detail = `${acknowledged.length} answered rescorings all stored (at the kill, ${atKill} in the journal only, ${left} file(s): moved in at the restart)`;
  return restartAndRun(problems, 'rescoring: all acknowledged kept', detail);
}

/** With the server down: the acknowledged orders are stored, and no row of a run that is not completed is shown. */
async function checkStore(orders: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const store = await Store.open(work);
  try {
    if (orders.length) {
      await store.run('CREATE TEMP TABLE acked (order_id VARCHAR)');
      for (let i = 0; i < orders.length; i += 500) {
        const chunk = orders.slice(i, i + 500);
        await store.run(`INSERT INTO acked VALUES ${chunk.map(() => '(?)').join(', ')}`, chunk);
      }
      const missing = Number(await store.value('SELECT count(*) FROM acked WHERE order_id NOT IN (SELECT order_id FROM orders)'));
      if (missing > 0) problems.push(`${missing} of ${orders.length} acknowledged orders missing`);
    }
    const completed = new Set((await store.all<{ run_id: number }>(`SELECT run_id FROM score_runs WHERE status = 'completed'`)).map((r) => r.run_id));
    for (const r of await store.all<{ run_id: number }>('SELECT DISTINCT run_id FROM customer_scores WHERE run_id IS NOT NULL')) {
      if (!completed.has(r.run_id)) problems.push(`customer_scores shows run ${r.run_id}, not completed`);
    }
    for (const r of await store.all<{ run_id: number }>('SELECT DISTINCT run_id FROM score_history')) {
      if (!completed.has(r.run_id)) problems.push(`score_history shows run ${r.run_id}, not completed`);
    }
  } finally {
    store.close();
  }
  return problems;
}

/** After the restart: a new run through the API starts (the killed server's lock taken over) and completes. */
async function nextRun(s: Server): Promise<string[]> {
  const started = await api(s, 'POST', '/runs', { scorers: ['rfm'] });
  if (started.status !== 202) return [`the next POST /runs was refused: ${JSON.stringify(started.body)}`];
  for (;;) {
    const job = await api(s, 'GET', `/jobs/${started.body.jobId}`);
    if (job.body.status === 'completed') return [];
    if (job.body.status === 'failed') return [`the next run failed: ${JSON.stringify(job.body.error)}`];
    await sleep(100);
  }
}

const duration = await timedRun();
console.log(`a full run through POST /runs takes ${duration.toFixed(1)} s here`);
const counts = new Map<string, number>();
for (let k = 0; k < kills; k++) {
  // In turn: during a run, during ingests, during rescorings; the delays spread over a run's duration.
  const j = Math.floor(k / 3);
  const rounds = Math.max(1, Math.ceil(kills / 3) - 1);
  const delay = Math.round((0.1 + (1.1 * j) / rounds) * duration * 1000);
  const kind = k % 3;
  const result = kind === 0 ? await killDuringRun(delay) : kind === 1 ? await killDuringIngest(Math.min(delay, 5000), k) : await killDuringRescoring(Math.min(delay, 5000));
  counts.set(result.outcome, (counts.get(result.outcome) ?? 0) + 1);
  console.log(`kill ${k + 1} ${['during a run', 'during ingests', 'during rescorings'][kind]} after ${delay} ms: ${result.outcome}: ${result.detail}`);
}
console.log(`\n${kills} kills: ${[...counts].map(([o, n]) => `${n} ${o}`).join(', ')}`);
if (counts.has('VIOLATION')) process.exitCode = 1;
