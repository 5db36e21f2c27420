// Reads a V8 .cpuprofile (node --cpu-prof) and DuckDB's JSON query profile into short "where the time goes" lists.
import { readFileSync } from 'node:fs';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly ms: number;
}

/** `fn path/to/file.ts` with the last two path parts; anonymous functions show as (anonymous). */
function frameName(n: CpuNode): string {
  const file = n.callFrame.url.split('/').slice(-2).join('/');
  return `${n.callFrame.functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
}

/**
 * Self and inclusive (self + callees, each function counted once per stack) main-thread time per function. Time the
 * main thread spends waiting for DuckDB's worker threads shows as (idle).
 */
export function summarizeCpuProfile(
  file: string,
  top = 25,
  /** Named periods [startUs, endUs) on the profile's clock: self time is also listed per period. */
  periods: readonly { name: string; startUs: number; endUs: number }[] = [],
): { totalMs: number; self: ProfileLine[]; inclusive: ProfileLine[]; byPeriod: { name: string; ms: number; self: ProfileLine[] }[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: CpuNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map<number, CpuNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  // Functions of the project (src/, bench/) and of DuckDB's client library: node internals and the tsx loader are noise here.
  const ours = new Set<string>();
  for (const n of p.nodes) if (/\/(src|bench)\/|@duckdb\//.test(n.callFrame.url)) ours.add(frameName(n));
  const periodSelf = periods.map(() => new Map<string, number>());
  let totalMs = 0;
  let clock = p.startTime;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const ms = us / 1000;
    clock += us;
    totalMs += ms;
    const leaf = byId.get(id);
    if (leaf === undefined) return;
    self.set(frameName(leaf), (self.get(frameName(leaf)) ?? 0) + ms);
    const k = periods.findIndex((q) => clock >= q.startUs && clock < q.endUs);
    const m = periodSelf[k];
    if (m !== undefined) m.set(frameName(leaf), (m.get(frameName(leaf)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node === undefined) break;
      const name = frameName(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  });
  const sorted = (m: Map<string, number>): ProfileLine[] =>
    [...m].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs,
    self: sorted(self).slice(0, top),
    inclusive: sorted(inclusive)
      .filter((l) => ours.has(l.name))
      .slice(0, top * 2),
    byPeriod: periods.map((q, k) => {
      const lines = sorted(periodSelf[k] as Map<string, number>);
      return { name: q.name, ms: lines.reduce((a, l) => a + l.ms, 0), self: lines.slice(0, 8) };
    }),
  };
}

interface SqlNode {
  operator_type?: string;
  operator_timing?: number;
  operator_cardinality?: number;
  children?: SqlNode[];
  latency?: number;
  cpu_time?: number;
}

/** Operators of a DuckDB JSON profile, costliest first (operator_timing is summed over threads). */
export function summarizeSqlProfile(file: string): { latency: number; cpu: number; operators: { name: string; seconds: number; rows: number }[] } {
  const root = JSON.parse(readFileSync(file, 'utf8')) as SqlNode;
  const operators: { name: string; seconds: number; rows: number }[] = [];
  const walk = (n: SqlNode): void => {
    if (n.operator_type) operators.push({ name: n.operator_type, seconds: n.operator_timing ?? 0, rows: n.operator_cardinality ?? 0 });
    for (const c of n.children ?? []) walk(c);
  };
  walk(root);
  operators.sort((a, b) => b.seconds - a.seconds);
  return { latency: root.latency ?? 0, cpu: root.cpu_time ?? 0, operators };
}
