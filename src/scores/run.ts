// Scoring runs: the registry's scorers (all, or some) on data before the as-of date, each into its own stored results, history and fits.
import { createHash } from 'node:crypto';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { createAsOfViews, defaultAsOf, parseAsOf } from '../features/as-of.js';
import { isOutOfMemory, isoTimestamp, quoteIdentifier, type Store } from '../store/db.js';
import { acquireRunLock } from '../store/run-lock.js';
import { processLives } from '../util/process.js';
import { DEFAULT_REGISTRY, type ScoreRegistry } from './registry.js';
import { createViews, ensureResultTables, removeUnpublished, resultsTable, storedResults, writeResults, type StoredResults } from './results.js';
import { closeStaging, openStaging, publishStaged, removeStaleStaging, STAGING } from './staging.js';
import { recordSegmentSizes } from '../segments/segments.js';
import { summariseScores } from '../history/summaries.js';
import { dropTemporary } from './temporaries.js';
import type { ModelRecord, Scorer } from './types.js';

export interface ScoreRunOptions {
  readonly config: KairosConfig;
  /** ISO date or timestamp; data strictly before it is used. Default: the day after the last order. */
  readonly asOf?: string;
  /** Scorer names to run (default: all registered). */
  readonly scorers?: readonly string[];
  /** The scorers to choose from (default: the ones Kairos ships). */
  readonly registry?: ScoreRegistry;
  readonly onProgress?: (message: string) => void;
  /** Test hook: called once every result is staged, before the write lock is taken back to publish them. */
  readonly beforePublish?: () => Promise<void>;
  /** Called once the run has its id (its 'running' row committed). */
  readonly onStart?: (runId: number) => void;
  /**
   * Called once the run's rows are in the store's tables, before the run is marked completed (what publishes them):
   * kairos serve makes the serving snapshot of the state the run is about to publish here. Must not throw.
   */
  readonly beforeComplete?: (runId: number) => Promise<void>;
  /**
   * Stops the run at its next step (before each scorer and before publishing): it is marked failed, its staged rows
   * removed, and INTERRUPTED is thrown. Once publishing has begun the run completes.
   */
  readonly signal?: AbortSignal;
  /** Who runs, in the run lock (src/store/run-lock.ts) and its BUSY message (default 'kairos score'). */
  readonly lockedBy?: string;
  /** Seconds to wait for the run lock another run holds (default 0: BUSY at once). */
  readonly waitSeconds?: number;
}

export interface ScoreRunSummary {
  readonly runId: number;
  readonly asOf: string;
  readonly customers: number;
  readonly scorers: readonly { name: string; version: string; columns: readonly string[]; items: readonly string[]; seconds: number }[];
  readonly models: readonly ModelRecord[];
  readonly notes: readonly string[];
  readonly dataFingerprint: string;
  readonly seconds: number;
}

/**
 * A fingerprint of the data a run sees: per as-of view, its row count and an order-independent XOR of a hash of
 * every row (exact: the same rows give the same fingerprint whatever their order or DuckDB's threads, unlike a
 * floating-point sum of amounts).
 */
async function fingerprint(store: Store): Promise<string> {
  const row = await store.one(
    `SELECT (SELECT count(*) FROM asof_customers) AS c, (SELECT bit_xor(hash(t)) FROM asof_customers t)::VARCHAR AS hc,
            (SELECT count(*) FROM asof_orders) AS o, (SELECT bit_xor(hash(t)) FROM asof_orders t)::VARCHAR AS ho,
            (SELECT count(*) FROM asof_events) AS e, (SELECT bit_xor(hash(t)) FROM asof_events t)::VARCHAR AS he,
            (SELECT bit_xor(hash(t)) FROM products t)::VARCHAR AS hp`,
  );
  return createHash('sha256').update(JSON.stringify(row)).digest('hex').slice(0, 16);
}

const day = (asOf: string): string => asOf.slice(0, 10);

/** Store.setAccess, a wait that ran out (BUSY) saying what became of the run. */
async function switchAccess(store: Store, access: 'read' | 'write', what: string): Promise<void> {
  try {
    await store.setAccess(access);
  } catch (err) {
    if (!(err instanceof KairosError) || err.code !== 'BUSY') throw err;
    throw new KairosError('BUSY', `${what}: ${err.message}`, { details: err.details, ...(err.hint ? { hint: err.hint } : {}) });
  }
}

/**
 * Refuses a partial run that would mix as-of dates: a scorer run without one of its dependencies needs that
 * dependency's stored results at the same as-of (it reads them); a scorer run without a stored scorer that depends on
 * it must keep that dependent's as-of (the dependent reads its columns when explained and exported).
 */
function checkPartialRun(registry: ScoreRegistry, selected: readonly Scorer[], state: ReadonlyMap<string, StoredResults>, asOf: string): void {
  const names = new Set(selected.map((s) => s.name));
  const all = registry.scorers.map((s) => s.name).join(',');
  for (const s of selected) {
    for (const d of s.dependsOn ?? []) {
      if (names.has(d)) continue;
      const st = state.get(d);
      if (st === undefined || st.asOf !== asOf) {
        const why = st === undefined ? `${d} has no stored results` : `the stored ${d} results are as of ${day(st.asOf)} (run ${st.runId})`;
        throw new KairosError('USAGE', `scorer ${s.name} reads the ${d} scores as of ${day(asOf)}, but ${why}`, {
          hint: `run both: kairos score --scorer ${registry.resolve([...registry.closure(s.name)]).map((x) => x.name).join(',')} --as-of ${day(asOf)} (or every scorer: --scorer ${all})`,
        });
      }
    }
    for (const dependent of registry.dependents(s.name)) {
      if (names.has(dependent.name)) continue;
      const st = state.get(dependent.name);
      if (st !== undefined && st.asOf !== asOf) {
        throw new KairosError(
          'USAGE',
          `scorer ${dependent.name} (stored as of ${day(st.asOf)}, run ${st.runId}) reads the ${s.name} scores: running ${s.name} alone as of ${day(asOf)} would mix two dates`,
          { hint: `run them together: kairos score --scorer ${s.name},${dependent.name} --as-of ${day(asOf)}, or keep --as-of ${day(st.asOf)}` },
        );
      }
    }
  }
}

/**
 * Runs one step of a run (a scorer, or the staging of its results); when DuckDB runs out of memory in an operator it
 * cannot spill, raises the memory limit 4 times (twice at most, to 80% of the RAM) and runs the step again, saying so
 * in a progress line and a note. The compute holds no transaction, so a failed statement leaves nothing behind; the
 * step's temp objects are made with CREATE OR REPLACE. The limit stays raised for the rest of the run.
 */
async function withMoreMemory<T>(store: Store, step: string, progress: (m: string) => void, notes: string[], fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isOutOfMemory(err) || attempt >= 2) throw err;
      const raised = await store.raiseMemoryLimit(4);
      if (raised === null) throw err;
      const message = `${step}: not enough memory under ${raised.from}, again under ${raised.to}`;
      progress(message);
      notes.push(`${message} (set --memory-limit ${raised.to.replace(/\s+/g, '')} or more to avoid the retry)`);
    }
  }
}

/** The progress stage of a run once it begins to publish (kairos serve stops serving its snapshot of the runs before). */
export const PUBLISHING = 'publishing the run';

/**
 * Marks the runs left 'running' by a process that is gone (killed during a run) as 'failed', removes their unpublished
 * rows and staging files: at a server's start (so that GET /runs reports them at once) and at each run. Returns the
 * runs marked, and the runs still running in live processes. Inside the caller's transaction.
 */
export async function recoverInterruptedRuns(store: Store, registry: ScoreRegistry = DEFAULT_REGISTRY): Promise<{ failed: number[]; live: number[] }> {
  const running = await store.all<{ run_id: number; pid: number | null }>(`SELECT run_id, pid FROM score_runs WHERE status = 'running' ORDER BY run_id`);
  const live = running.filter((r) => processLives(r.pid)).map((r) => r.run_id);
  const failed = running.map((r) => r.run_id).filter((id) => !live.includes(id));
  if (failed.length > 0) {
    await store.run(`UPDATE score_runs SET status = 'failed', notes = ? WHERE run_id IN (${failed.join(', ')})`, [
      JSON.stringify(['interrupted: the process running it stopped before the run was published (killed?); nothing of it is shown']),
    ]);
    await removeUnpublished(store, registry);
  }
  return { failed, live };
}

/** The purchase models: their fit (and Gamma-Gamma's) is what a run without a refit reuses. */
const PURCHASE_MODELS = ['bg-nbd', 'pareto-nbd', 'mbg-nbd'];

/** The scorers that keep no fitted state in model_fits: they fit on every run whatever the policy. */
const ALWAYS_FITTED = 'learned (boosted trees), recommend, affinity and promotion';

export interface RefitDecision {
  readonly refit: boolean;
  /** Why, in words, for the run's notes. */
  readonly reason: string;
  /** The fits reused (when not refitting). */
  readonly reuse?: { readonly fromRun: number; readonly fits: ReadonlyMap<string, unknown> };
}

/**
 * Whether this run refits its models, by the config's `refit` policy: every run; every N runs (counted from the last
 * run that fitted the purchase model); or when the latest completed run's clv scores drifted from the run before by
 * more than a PSI (the largest over its score columns, from run_summaries). Without a previous fit, it refits.
 */
export async function refitDecision(store: Store, config: KairosConfig): Promise<RefitDecision> {
  const policy = config.refit;
  if (policy.every === 'run') return { refit: true, reason: 'refit policy: every run' };
  const fits = await store.all<{ run_id: number; model: string; fit: string }>(
    `SELECT f.run_id, f.model, f.fit::VARCHAR AS fit FROM model_fits f JOIN score_runs r USING (run_id)
     WHERE r.status = 'completed' AND f.model IN (${PURCHASE_MODELS.map(() => '?').join(', ')}) ORDER BY f.run_id DESC LIMIT 1`,
    PURCHASE_MODELS,
  );
  const last = fits[0];
  if (last === undefined) return { refit: true, reason: 'refit policy: no earlier fit of the purchase model to reuse, fitted' };
  const fitted = Number((JSON.parse(last.fit) as { reusedFrom?: number }).reusedFrom ?? last.run_id);
  const original = await store.all<{ model: string; fit: string }>('SELECT model, fit::VARCHAR AS fit FROM model_fits WHERE run_id = ?', [fitted]);
  const reuse = { fromRun: fitted, fits: new Map(original.map((f) => [f.model, JSON.parse(f.fit) as unknown])) };
  if (policy.every === 'runs') {
    // Runs that scored with that fit, itself included; this run would be one more.
    const since = Number(await store.value(`SELECT count(DISTINCT run_id) FROM model_fits WHERE run_id >= ? AND model IN (${PURCHASE_MODELS.map(() => '?').join(', ')})`, [fitted, ...PURCHASE_MODELS]));
    if (since >= policy.runs) return { refit: true, reason: `refit policy: every ${policy.runs} runs, and ${since} run(s) have scored with the fit of run ${fitted}: refitted` };
    return { refit: false, reason: `refit policy: every ${policy.runs} runs: the fitted models of run ${fitted} reused (run ${since + 1} of ${policy.runs} on them)`, reuse };
  }
  const psi = await store.one<{ run_id: number; psi: number | null; column_name: string | null }>(
    `SELECT run_id, max(TRY_CAST(json_extract(summary, '$.previous.psi') AS DOUBLE)) AS psi, arg_max(column_name, TRY_CAST(json_extract(summary, '$.previous.psi') AS DOUBLE)) AS column_name
     FROM run_summaries WHERE run_id = ? AND scores_table = 'scores_clv' GROUP BY run_id`,
    [last.run_id],
  );
  const drift = psi?.psi ?? null;
  if (drift === null) return { refit: false, reason: `refit policy: when drift exceeds PSI ${policy.psi}: no drift measured on run ${last.run_id} yet, the fitted models of run ${fitted} reused`, reuse };
  if (drift > policy.psi) return { refit: true, reason: `refit policy: drift PSI ${drift.toFixed(3)} (${psi?.column_name}, run ${last.run_id}) exceeds ${policy.psi}: refitted` };
  return { refit: false, reason: `refit policy: drift PSI ${drift.toFixed(3)} (${psi?.column_name}, run ${last.run_id}) within ${policy.psi}: the fitted models of run ${fitted} reused`, reuse };
}

/** Throws INTERRUPTED when the run was asked to stop. */
function checkStop(signal: AbortSignal | undefined, runId: number): void {
  if (signal?.aborted) {
    throw new KairosError('INTERRUPTED', `run ${runId} was stopped before it was published (${String(signal.reason ?? 'stop requested')}): the store is as before it`, {
      hint: 'start it again (POST /runs, or kairos score)',
    });
  }
}

/**
 * Runs the scorers in dependency order. A run lands whole or not at all, even if the process is killed at any moment:
 * 1. its score_runs row is committed first, as 'running' with its process id (run ids are never reused; runs left
 *    'running' by a process that is gone are marked 'failed' and their rows removed at the next run);
 * 2. every scorer's results are computed into the run's staging database (src/scores/staging.ts), reading the store
 *    with a read lock only when the store is switchable (`kairos score`): readers keep reading the published scores
 *    meanwhile, writers wait;
 * 3. with the write lock back (waited for), the staged rows are appended to the store's tables in one transaction,
 *    invisible while the run is not completed;
 * 4. one small last transaction marks the run 'completed' and points the views at its rows.
 * Each scorer's results replace only its own in customer_scores: a partial run leaves the others as they were.
 */
export async function runScores(store: Store, options: ScoreRunOptions): Promise<ScoreRunSummary> {
  // Two runs never overlap, in this process or another (the lock file names the holder); a killed holder's is taken over.
  const release = await acquireRunLock(store.path, options.lockedBy ?? 'kairos score', options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds });
  try {
    return await lockedRun(store, options);
  } finally {
    release();
  }
}

async function lockedRun(store: Store, options: ScoreRunOptions): Promise<ScoreRunSummary> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const registry = options.registry ?? DEFAULT_REGISTRY;
  const scorers = registry.resolve(options.scorers);
  await store.setAccess('write');
  const asOf = options.asOf ? parseAsOf(options.asOf) : await defaultAsOf(store);
  const scorerNames = scorers.map((s) => ({ name: s.name, version: s.version }));
  let state: Map<string, StoredResults> = new Map();
  let live: number[] = [];
  const runId = await store.transaction(async () => {
    live = (await recoverInterruptedRuns(store, registry)).live;
    await removeUnpublished(store, registry);
    await ensureResultTables(store, registry);
    state = await storedResults(store, registry);
    checkPartialRun(registry, scorers, state, asOf);
    const id = Number(await store.value('SELECT coalesce(max(run_id), 0) + 1 FROM score_runs'));
    await store.run(
      `INSERT INTO score_runs (run_id, as_of, started_at, finished_at, status, data_fingerprint, scorers, config, customers, currency, pid)
       VALUES (?, ?::TIMESTAMP, to_timestamp(?)::TIMESTAMP, NULL, 'running', '', ?, ?, 0, ?, ?)`,
      [id, asOf, started / 1000, JSON.stringify(scorerNames), JSON.stringify(options.config), options.config.currency, process.pid],
    );
    return id;
  });
  removeStaleStaging(store, [...live, runId]);
  options.onStart?.(runId);
  let written: Omit<ScoreRunSummary, 'seconds'>;
  let seconds: number;
  try {
    // From here until the results are staged, a switchable store holds only a read lock.
    await switchAccess(store, 'read', `run ${runId} was started but could not read the store`);
    await openStaging(store, runId, scorers);
    await createAsOfViews(store, asOf);
    const dataFingerprint = await fingerprint(store);
    const customers = Number(await store.value('SELECT count(*) FROM asof_customers'));
    if (customers === 0) throw new KairosError('INSUFFICIENT_DATA', `no customers before ${asOf}`, { hint: 'choose a later --as-of' });
    const models: ModelRecord[] = [];
    const notes: string[] = [];
    // The refit policy, for the runs that fit the purchase model.
    let reuseFits: RefitDecision['reuse'];
    if (scorers.some((s) => s.name === 'clv') && options.config.refit.every !== 'run') {
      const decision = await refitDecision(store, options.config);
      notes.push(decision.refit ? decision.reason : `${decision.reason}; ${ALWAYS_FITTED} are fitted on every run (they keep no fitted state to reuse)`);
      reuseFits = decision.reuse && !decision.refit ? decision.reuse : undefined;
    }
    const scorerInfo: ScoreRunSummary['scorers'][number][] = [];
    for (const scorer of scorers) {
      checkStop(options.signal, runId);
      const t0 = Date.now();
      progress(`scoring ${scorer.name}`);
      // Each dependency's results for this as-of (checked above): staged earlier in this run, or published.
      const inputs = new Map<string, string>();
      for (const dep of scorer.dependsOn ?? []) {
        const fromRun = scorerInfo.some((x) => x.name === dep);
        const from = fromRun ? runId : (state.get(dep)?.runId ?? -1);
        const table = `${fromRun ? `${STAGING}.` : ''}${quoteIdentifier(resultsTable(dep))}`;
        const view = `__results_${dep}`;
        await store.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdentifier(view)} AS SELECT * EXCLUDE (run_id) FROM ${table} WHERE run_id = ${from}`);
        inputs.set(dep, view);
      }
      const resultsOf = (name: string): string => {
        const view = inputs.get(name);
        if (view === undefined) throw new KairosError('INTERNAL', `scorer ${scorer.name} reads ${name} without declaring it in dependsOn`);
        return view;
      };
      const result = await withMoreMemory(store, scorer.name, progress, notes, () =>
        scorer.run({ store, runId, asOf, config: options.config, progress, resultsOf, dataFingerprint, ...(reuseFits ? { reuseFits } : {}) }),
      );
      progress(`writing ${scorer.name} scores`);
      // In one transaction, so that a retry after an out-of-memory error starts from no staged row of this scorer
      // (writeResults makes up to three inserts: items, results, scorer_results).
      await withMoreMemory(store, `writing ${scorer.name}`, progress, notes, () =>
        store.transaction(() => writeResults(store, scorer, result, { runId, asOf }, STAGING)),
      );
      for (const t of [result.table, ...Object.values(result.items ?? {}), ...(result.temporaries ?? []), ...inputs.values()]) await dropTemporary(store, t);
      models.push(...result.models);
      notes.push(...result.notes);
      scorerInfo.push({
        name: scorer.name,
        version: scorer.version,
        columns: scorer.columns.map((c) => c.name),
        items: (scorer.items ?? []).map((o) => o.name),
        seconds: (Date.now() - t0) / 1000,
      });
    }
    // ISO 8601 in UTC for whoever reads the summary (kairos score --json, a job's result); SQL's form stays inside.
    written = { runId, asOf: isoTimestamp(asOf), customers, scorers: scorerInfo, models, notes, dataFingerprint };
    await options.beforePublish?.();
    checkStop(options.signal, runId);
    progress(PUBLISHING);
    await switchAccess(store, 'write', `run ${runId} was computed but not published`);
    // The rows first, in one transaction: a kill while it commits leaves rows of a run still 'running', which no view shows.
    await store.transaction(async () => {
      await publishStaged(store);
      for (const m of models) await store.run('INSERT INTO model_fits VALUES (?, ?, ?)', [runId, m.model, JSON.stringify(m.fit)]);
    });
    await closeStaging(store, runId);
    await options.beforeComplete?.(runId);
    // The finish time comes from here: DuckDB's now() is the transaction's start, which made every run last 0 s.
    seconds = (Date.now() - started) / 1000;
  } catch (err) {
    await closeStaging(store, runId).catch(() => {});
    // Recorded as failed when the write lock comes within the wait; else (and after a wait that timed out) the run
    // stays 'running' with a process that is gone: interrupted, for `kairos runs` and the next run.
    if (err instanceof KairosError && err.code === 'BUSY') throw err;
    await store
      .setAccess('write')
      .then(() => store.run(`UPDATE score_runs SET status = 'failed', finished_at = to_timestamp(?)::TIMESTAMP WHERE run_id = ?`, [Date.now() / 1000, runId]))
      .catch(() => {});
    throw err;
  }
  await store.transaction(async () => {
    await store.run(
      `UPDATE score_runs SET status = 'completed', finished_at = to_timestamp(?)::TIMESTAMP, data_fingerprint = ?, scorers = ?, customers = ?, notes = ? WHERE run_id = ?`,
      [started / 1000 + seconds, written.dataFingerprint, JSON.stringify(written.scorers), written.customers, JSON.stringify(written.notes), runId],
    );
    await createViews(store, registry);
    // Every saved segment's size over the scores just published (src/segments): segment evolution is history too.
    await recordSegmentSizes(store, runId);
    // Distributions, drift from the previous run and migrations of what this run wrote (src/history).
    for (const s of written.scorers) await summariseScores(store, runId, resultsTable(s.name));
  });
  await store.transaction(() => removeUnpublished(store, registry));
  return { ...written, seconds };
}
