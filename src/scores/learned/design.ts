// When the learned models' snapshots are cut and which windows their labels span, from the as-of and the data's first day.
import type { LearnedSettings } from '../../config.js';
import { CLV_HORIZONS } from '../clv/horizons.js';

const DAY_MS = 86_400_000;

/** Least history before a snapshot's cut for it to be used: customers need some past to be described. */
export const MIN_HISTORY_DAYS = 60;

/** Value windows tried, longest first: the learned value model predicts spend over the first that fits the data. */
export const VALUE_WINDOWS = [365, 180, 90] as const;

/** What one learned model predicts. */
export type TaskName = 'churn' | 'conversion' | 'value';

/**
 * A learned model's snapshots. The final model is fitted on `cuts` (latest first, `step` days apart, the latest one
 * window before the as-of: every label window ends by the as-of). The inner holdout is the latest cut; the inner model
 * is fitted on `innerCuts`, whose label windows end by it.
 */
export interface TaskDesign {
  readonly task: TaskName;
  /** Label window in days. */
  readonly days: number;
  /** Cuts of the final fit ('YYYY-MM-DD HH:MM:SS'), latest first. */
  readonly cuts: readonly string[];
  /** Cuts of the inner fit, latest first: at least a window before cuts[0]. */
  readonly innerCuts: readonly string[];
  readonly step: number;
}

function instant(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

function format(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Cuts `step` days apart back from `from`, while at least MIN_HISTORY_DAYS of data lie before each; at most `count`. */
export function cutsFrom(from: string, dataStart: string, step: number, count: number): string[] {
  const out: string[] = [];
  const start = instant(dataStart);
  for (let k = 0; k < count; k++) {
    const cut = instant(from) - k * step * DAY_MS;
    if ((cut - start) / DAY_MS < MIN_HISTORY_DAYS) break;
    out.push(format(cut));
  }
  return out;
}

/** The design of one window: final cuts from as-of - days, inner cuts from as-of - 2 days. */
function design(task: TaskName, asOf: string, dataStart: string, days: number, s: LearnedSettings): TaskDesign {
  const back = (d: number): string => format(instant(asOf) - d * DAY_MS);
  return {
    task,
    days,
    step: s.stepDays,
    cuts: cutsFrom(back(days), dataStart, s.stepDays, s.snapshots),
    innerCuts: cutsFrom(back(2 * days), dataStart, s.stepDays, s.snapshots),
  };
}

/**
 * The three designs. Churn and conversion share their cuts (the conversion label is the first 30 days of the churn
 * window, CLV_HORIZONS.conversionDays). Value takes the longest of VALUE_WINDOWS with an inner fit; its prediction is
 * scaled to 12 months by the caller when the window is shorter. A design with no inner cut cannot be compared on an
 * inner holdout: the caller says so and keeps the purchase model.
 */
export function designTasks(asOf: string, dataStart: string, s: LearnedSettings): Record<TaskName, TaskDesign> {
  const churn = design('churn', asOf, dataStart, s.churnDays, s);
  let value = design('value', asOf, dataStart, VALUE_WINDOWS[VALUE_WINDOWS.length - 1] ?? 90, s);
  for (const days of VALUE_WINDOWS) {
    const d = design('value', asOf, dataStart, days, s);
    if (d.innerCuts.length > 0) {
      value = d;
      break;
    }
  }
  return { churn, conversion: { ...churn, task: 'conversion', days: CLV_HORIZONS.conversionDays }, value };
}
