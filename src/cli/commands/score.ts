// `kairos score`, `kairos show`, `kairos runs`: compute the scores, explain one customer's, list the runs.
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import type { CustomerExplanation } from '../../scores/explain.js';
import type { ScoreRunSummary } from '../../scores/run.js';
import type { StoredFitRecord } from '../../scores/runs.js';
import { formatCount, formatNumber } from '../../util/format.js';
import { printJson, progressReporter, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';
import { positiveInteger, wholeNumber } from '../options.js';

export function printRunSummary(io: Io, s: ScoreRunSummary): void {
  io.out(`run ${s.runId}: ${formatCount(s.customers)} customers scored as of ${s.asOf.slice(0, 10)} in ${s.seconds.toFixed(1)} s`);
  for (const x of s.scorers) {
    io.out(`${x.name} (${x.seconds.toFixed(1)} s): ${[...x.columns, ...x.items.map((o) => `${o} (items)`)].join(', ')}`);
  }
  for (const n of s.notes) io.out(`note: ${n}`);
}

/** `kairos show` in words: the customer, each scorer's lines, then each item output's rows. */
export function printCustomer(io: Io, customerId: string, result: CustomerExplanation): void {
  const c = result.customer;
  io.out(`customer ${customerId}${c['email'] ? ` <${c['email']}>` : ''}${c['country'] ? `, ${c['country']}` : ''} (scored as of ${String(c['scored_as_of']).slice(0, 10)}, run ${c['run_id']})`);
  for (const [scorer, lines] of Object.entries(result.explanations)) {
    io.out(`${scorer}:`);
    for (const l of lines) io.out(`  - ${l}`);
  }
  for (const [output, rows] of Object.entries(result.items)) {
    if (rows.length === 0) continue;
    io.out(`${output}:`);
    for (const r of rows) io.out(`  ${r.rank}. ${r.key}${r.value === null ? '' : ` (${formatNumber(r.value)})`}${r.reason ? `: ${r.reason}` : ''}`);
  }
}

const SCORER_HELP = "(a scorer's dependencies must be stored for the same --as-of, or listed too)";

/**
 * Names the registered scorers in `score --scorer`'s help. The registry loads the models (most of a second), so the
 * CLI calls this only when the command line mentions `score` (`kairos score --help`, `kairos help score`).
 */
export async function describeScorers(program: Command): Promise<void> {
  const option = program.commands.find((c) => c.name() === 'score')?.options.find((o) => o.long === '--scorer');
  if (!option) return;
  const { DEFAULT_REGISTRY } = await import('../../scores/registry.js');
  option.description = `comma-separated subset of: ${DEFAULT_REGISTRY.scorers.map((s) => s.name).join(', ')} ${SCORER_HELP}`;
}

export function registerScore(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('score')
    .description('compute every registered score for every customer, using only data before --as-of')
    .option('--as-of <date>', 'ISO date; data before it is used (default: the day after the last order)')
    .option('--scorer <names>', `comma-separated subset of the registered scorers ${SCORER_HELP}`)
    .action(async (flags: { asOf?: string; scorer?: string }) => {
      const g = global();
      const config = loadConfig(g.config);
      const [{ withStore }, { runScores }, { registryFor }] = await Promise.all([import('../../store/db.js'), import('../../scores/run.js'), import('../../scores/registry.js')]);
      // The custom scores of the configuration are checked here, before the store is opened.
      const registry = registryFor(config);
      const wait = storeWait(io, g);
      const summary = await withStore(g.db, (store) =>
        runScores(store, {
          config,
          registry,
          // The run lock (a run of another kairos score, or of a server, on this store): waited for as the store is.
          ...(wait.waitSeconds === undefined ? {} : { waitSeconds: wait.waitSeconds }),
          ...(flags.asOf !== undefined ? { asOf: flags.asOf } : {}),
          ...(flags.scorer !== undefined ? { scorers: flags.scorer.split(',').map((x) => x.trim()) } : {}),
          onProgress: progressReporter(io, g),
        }),
        // Switchable: the run computes with a read lock only, so that kairos sql, show, runs and export keep reading the
        // published scores meanwhile; it takes the write lock (waiting for readers) to start and to publish.
        { mustExist: true, switchable: true, ...storeWait(io, g) },
      );
      if (g.json) printJson(io, summary);
      else printRunSummary(io, summary);
    });

  program
    .command('show')
    .description("print one customer's scores, each with a one-line explanation")
    .argument('<customer_id>')
    .action(async (customerId: string) => {
      const g = global();
      const config = loadConfig(g.config);
      const [{ withStore }, { explainCustomer }, { registryFor }] = await Promise.all([import('../../store/db.js'), import('../../scores/explain.js'), import('../../scores/registry.js')]);
      const registry = registryFor(config);
      const result = await withStore(g.db, (store) => explainCustomer(store, customerId, registry), { readOnly: true, ...storeWait(io, g) });
      if (g.json) return printJson(io, result);
      printCustomer(io, customerId, result);
    });

  program
    .command('runs')
    .description('list scoring runs: as-of, time, customers, data fingerprint')
    .option('--limit <n>', 'most recent runs to show', positiveInteger, 20)
    .action(async (flags: { limit: number }) => {
      const g = global();
      const [{ withStore }, { listRuns }] = await Promise.all([import('../../store/db.js'), import('../../scores/runs.js')]);
      const rows = await withStore(g.db, (store) => listRuns(store, { limit: flags.limit }), { readOnly: true, ...storeWait(io, g) });
      if (g.json) printJson(io, rows);
      else io.out(rows.length ? renderTable(['run_id', 'as_of', 'status', 'customers', 'seconds', 'data_fingerprint'], rows) : 'no scoring run yet: run `kairos score`');
    });
}

export function registerCompact(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('compact')
    .description('thin the score history: runs older than --keep-days (before the latest run) keep one run per month')
    .option('--keep-days <n>', 'days of history kept whole, counted back from the latest run', wholeNumber(0), 90)
    .action(async (flags: { keepDays: number }) => {
      const g = global();
      const [{ withStore }, { compactHistory }, { registryFor }] = await Promise.all([
        import('../../store/db.js'),
        import('../../scores/results.js'),
        import('../../scores/registry.js'),
      ]);
      // With the configuration's custom scores: their published runs are kept too.
      const registry = registryFor(loadConfig(g.config));
      const result = await withStore(g.db, (store) => compactHistory(store, registry, flags.keepDays), { mustExist: true, ...storeWait(io, g) });
      if (g.json) printJson(io, result);
      else io.out(`removed ${result.removed.length} run(s) (${formatCount(result.rowsDeleted)} rows); ${result.kept} completed run(s) kept`);
    });
}

export function registerModels(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('models')
    .description('print the fitted models of a scoring run: parameters, standard errors, diagnostics')
    .option('--run <id>', 'run id (default: the latest run with fitted models)', positiveInteger)
    .action(async (flags: { run?: number }) => {
      const g = global();
      const [{ withStore }, { fittedModels }] = await Promise.all([import('../../store/db.js'), import('../../scores/runs.js')]);
      const result = await withStore(g.db, (store) => fittedModels(store, flags.run), { readOnly: true, ...storeWait(io, g) });
      if (g.json) return printJson(io, result);
      io.out(`run ${result.runId}`);
      for (const f of result.fits) {
        const d = f.diagnostics;
        io.out(`\n${f.model} (fitted ${f.fittedAt}, ${formatCount(d.nObs)} customers, time unit: days)`);
        io.out(
          renderTable(
            ['parameter', 'estimate', 'std. error'],
            Object.entries(f.params).map(([k, v]) => ({ parameter: k, estimate: v, 'std. error': d.standardErrors[k] ?? null })),
          ),
        );
        io.out(`log-likelihood ${d.logLik.toFixed(2)}, ${d.converged ? 'converged' : 'NOT converged'} in ${d.iterations} iterations, gradient norm ${d.gradNorm.toExponential(2)}: ${d.message}`);
        if (f.selection && f.selection.length) {
          const show = (c: NonNullable<StoredFitRecord['selection']>[number]): string =>
            c.holdoutMae === null
              ? `${c.model} failed to fit (${c.error})`
              : `${c.model} holdout MAE ${c.holdoutMae.toFixed(4)}, Brier ${c.holdoutBrier?.toFixed(4) ?? 'n/a'}${c.penalty ? ' (penalised)' : ''}`;
          io.out(`chosen among: ${f.selection.map(show).join('; ')}`);
        }
      }
    });
}
