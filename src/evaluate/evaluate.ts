// `kairos evaluate`: an honest backtest of every registered scorer that has a backtest hook, on one time split, in one report.
import { basename } from 'node:path';
import { createSplitViews, resolveSplit, withRollback, type EvaluationSplit, type SplitOptions } from '../backtest/split.js';
import type { EvaluationReport, ScoreSection } from '../backtest/types.js';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { purchasesSql } from '../features/purchases.js';
import type { ClvBacktestDetails } from '../scores/clv/backtest.js';
import { DEFAULT_REGISTRY, type ScoreRegistry } from '../scores/registry.js';
import type { Store } from '../store/db.js';

export interface EvaluateOptions extends SplitOptions {
  readonly config: KairosConfig;
  /** The scorers to grade (default: the ones Kairos ships); each with a `backtest` hook adds its sections. */
  readonly registry?: ScoreRegistry;
  /** Data set name shown in the report (default: the store file's name). */
  readonly dataset?: string;
  readonly title?: string;
  /** Fixed report timestamp (tests); default now. */
  readonly generatedAt?: string;
  readonly onProgress?: (message: string) => void;
}

/** One scorer's part of the backtest. */
export interface ScorerBacktest {
  readonly sections: readonly ScoreSection[];
  /** Lines the CLI prints after the table of grades. */
  readonly summary: readonly string[];
  /** The scorer's unrounded details (its own shape: see the scorer's backtest module). */
  readonly details: unknown;
}

export interface EvaluationResult {
  readonly report: EvaluationReport;
  readonly split: EvaluationSplit;
  /** Per scorer with a backtest hook, in registry order. */
  readonly scorers: Readonly<Record<string, ScorerBacktest>>;
  readonly seconds: number;
}

/** The clv scorer's details of a backtest (its purchase models, choice, calibration and outcomes). */
export function clvDetails(result: EvaluationResult): ClvBacktestDetails {
  const d = result.scorers['clv']?.details;
  if (d === undefined) throw new KairosError('INTERNAL', 'the backtest has no clv part (is the clv scorer registered?)');
  return d as ClvBacktestDetails;
}

/**
 * Runs the backtest: resolves the split, creates its views (the calibration as the as-of views `kairos score
 * --as-of CUT` reads, the holdout apart), and asks every registered scorer with a backtest hook for its sections.
 * Everything runs in a transaction that is rolled back: the store is unchanged.
 */
export async function evaluateStore(store: Store, options: EvaluateOptions): Promise<EvaluationResult> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const registry = options.registry ?? DEFAULT_REGISTRY;
  return withRollback(store, async () => {
    const split = await resolveSplit(store, options);
    await createSplitViews(store, split);
    progress(`calibration ${split.calibrationStart} to ${split.calibrationEnd}, holdout ${split.holdoutStart} to ${split.holdoutLast}`);
    const n = Number(await store.value(`SELECT count(DISTINCT customer_id) FROM (${purchasesSql('asof_orders')})`));
    if (n === 0) {
      throw new KairosError('INSUFFICIENT_DATA', `no customer with a purchase before ${split.cut.slice(0, 10)}`, { hint: 'choose a later --calibration-end' });
    }
    const sections: ScoreSection[] = [];
    const scorers: Record<string, ScorerBacktest> = {};
    for (const scorer of registry.scorers) {
      if (!scorer.backtest) continue;
      progress(`backtesting ${scorer.name}`);
      const r = await scorer.backtest({ store, split, config: options.config, progress });
      sections.push(...r.sections);
      scorers[scorer.name] = { sections: r.sections, summary: r.summary ?? [], details: r.details };
    }
    const dataset = options.dataset ?? basename(store.path).replace(/\.duckdb$/, '');
    const report: EvaluationReport = {
      schemaVersion: 1,
      title: options.title ?? `Kairos backtest: ${dataset}`,
      dataset,
      calibration: { start: split.calibrationStart, end: split.calibrationEnd },
      holdout: { start: split.holdoutStart, end: split.holdoutLast },
      generatedAt: options.generatedAt ?? new Date().toISOString(),
      customers: n,
      scores: sections,
    };
    return { report, split, scorers, seconds: (Date.now() - started) / 1000 };
  });
}
