// `kairos drift [--run N]`: how each score moved since the scorer's previous run (population stability index) and who moved between categories.
import type { Command } from 'commander';
import { KairosError } from '../../errors.js';
import type { CategoricalSummary, ScoreSummary } from '../../history/summaries.js';
import { formatCount } from '../../util/format.js';
import { printJson, renderTable, storeWait, type GlobalOptions, type Io } from '../io.js';

/** The largest moves between categories, in words: "Loyal -> At risk: 120". */
function moves(s: CategoricalSummary, top: number): string[] {
  return [...(s.previous?.migration ?? [])]
    .filter((m) => m.from !== m.to)
    .sort((a, b) => b.customers - a.customers || a.from.localeCompare(b.from))
    .slice(0, top)
    .map((m) => `${m.from || '(none)'} -> ${m.to || '(none)'}: ${formatCount(m.customers)}`);
}

export function registerDrift(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('drift')
    .description("each score's drift since its scorer's previous run (population stability index) and the moves between categories, from the run's summaries")
    .option('--run <id>', 'the run to look at (default: the latest with summaries)')
    .option('--moves <n>', 'largest moves between categories shown per score', '5')
    .addHelpText('after', '\nPSI below 0.1: stable; 0.1 to 0.25: moderate shift; above 0.25: major shift (the bins are the previous run\'s deciles).')
    .action(async (flags: { run?: string; moves: string }) => {
      const g = global();
      const top = Number(flags.moves);
      if (!(Number.isInteger(top) && top >= 0 && top <= 100)) throw new KairosError('USAGE', `--moves must be a whole number from 0 to 100, got ${flags.moves}`);
      const [{ withStore }, { latestSummarisedRun, psiVerdict, runSummaries }] = await Promise.all([import('../../store/db.js'), import('../../history/summaries.js')]);
      const result = await withStore(
        g.db,
        async (store) => {
          const runId = flags.run === undefined ? await latestSummarisedRun(store) : Number(flags.run);
          if (runId === null) throw new KairosError('NOT_FOUND', 'no run has summaries yet', { hint: 'run kairos score: each run summarises what it wrote' });
          if (!Number.isInteger(runId)) throw new KairosError('USAGE', `--run must be a run id, got ${flags.run}`);
          const summaries = await runSummaries(store, runId);
          if (summaries.size === 0) throw new KairosError('NOT_FOUND', `run ${runId} has no summaries`, { hint: 'kairos runs lists the runs; runs before this version have none' });
          return { runId, scores: [...summaries.entries()].map(([column, { table, summary }]) => ({ column, table, summary })) };
        },
        { mustExist: true, readOnly: true, ...storeWait(io, g) },
      );
      if (g.json) return printJson(io, result);
      const psiOf = (s: ScoreSummary): number | null | undefined => s.previous?.psi;
      const rows = result.scores.map(({ column, table, summary: s }) => {
        const psi = psiOf(s);
        return {
          score: column,
          scorer: table.replace(/^scores_/, ''),
          customers: formatCount(s.n),
          previous_run: s.previous?.runId ?? '',
          psi: psi === null || psi === undefined ? 'n/a' : psi.toFixed(3),
          verdict: psi === null || psi === undefined ? (s.previous ? 'n/a' : 'first run') : psiVerdict(psi),
        };
      });
      io.out(`run ${result.runId}: drift of each score since its scorer's previous run`);
      io.out(renderTable(['score', 'scorer', 'customers', 'previous_run', 'psi', 'verdict'], rows));
      for (const { column, summary } of result.scores) {
        if (summary.kind !== 'category' || summary.previous === null || top === 0) continue;
        const m = moves(summary, top);
        if (m.length > 0) io.out(`${column}, largest moves since run ${summary.previous.runId}: ${m.join('; ')}`);
      }
    });

  program
    .command('transitions')
    .description('moves of a categorical score (lifecycle_stage, rfm_segment, ...) since its previous run: counts, and with --from and --to the customers who made that move')
    .option('--score <column>', 'the categorical score', 'lifecycle_stage')
    .option('--from <value>', 'the value before (e.g. active)')
    .option('--to <value>', 'the value now (e.g. "at risk")')
    .option('--run <id>', 'the run (default: the latest with summaries)')
    .option('--since <id>', "the earlier run to compare with (default: the scorer's previous run)")
    .option('--limit <n>', 'customers listed at most', '100')
    .action(async (flags: { score: string; from?: string; to?: string; run?: string; since?: string; limit: string }) => {
      const g = global();
      const limit = Number(flags.limit);
      if (!(Number.isInteger(limit) && limit >= 1 && limit <= 1_000_000)) throw new KairosError('USAGE', `--limit must be a whole number from 1 to 1,000,000, got ${flags.limit}`);
      if ((flags.from === undefined) !== (flags.to === undefined)) throw new KairosError('USAGE', '--from and --to go together');
      const runId = flags.run === undefined ? undefined : Number(flags.run);
      if (runId !== undefined && !Number.isInteger(runId)) throw new KairosError('USAGE', `--run must be a run id, got ${flags.run}`);
      const since = flags.since === undefined ? undefined : Number(flags.since);
      if (since !== undefined && !(Number.isInteger(since) && since > 0)) throw new KairosError('USAGE', `--since must be a run id, got ${flags.since}`);
      const [{ withStore }, { transitions }] = await Promise.all([import('../../store/db.js'), import('../../history/transitions.js')]);
      const result = await withStore(
        g.db,
        (store) => transitions(store, flags.score, { ...(runId === undefined ? {} : { runId }), ...(since === undefined ? {} : { sinceRunId: since }), ...(flags.from === undefined ? {} : { from: flags.from, to: flags.to as string }), limit }),
        { mustExist: true, readOnly: true, ...storeWait(io, g) },
      );
      if (g.json) return printJson(io, result);
      io.out(`${result.score}: moves from run ${result.previousRunId} to run ${result.runId} (customers scored in both)`);
      io.out(renderTable(['from', 'to', 'customers'], result.counts.map((c) => ({ from: c.from || '(none)', to: c.to || '(none)', customers: formatCount(c.customers) }))));
      if (result.customers !== null) {
        io.out(`${formatCount(result.customers.length)} customer(s) from ${flags.from} to ${flags.to}${result.customers.length === limit ? ` (the first ${formatCount(limit)})` : ''}: ${result.customers.join(', ') || 'none'}`);
      }
    });
}
