// Profiles one ingest statement by statement: wraps Store.run/all and prints each SQL statement's time (and, with
// --operators, DuckDB's CPU time, peak buffer memory and costliest operators per statement), slowest first.
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { ingest } from '../src/ingest/ingest.js';
import { Store, type SqlValue } from '../src/store/db.js';

export interface Timing {
  readonly ms: number;
  readonly sql: string;
  /** Peak RSS of the process so far, after the statement (MB): where it grows is where the memory goes. */
  readonly maxRssMb: number;
  /** CPU seconds of the process (every DuckDB thread) during the statement: steadier than wall time on a busy machine. */
  readonly cpu: number;
  /** From DuckDB's JSON profile of the statement (with `operators`). */
  readonly profile?: { cpu: number; peakMb: number; operators: string };
}

interface ProfileNode {
  operator_type?: string;
  operator_timing?: number;
  operator_cardinality?: number;
  cpu_time?: number;
  system_peak_buffer_memory?: number;
  children?: ProfileNode[];
}

function operatorsOf(node: ProfileNode, out: { name: string; s: number; rows: number }[] = []): typeof out {
  if (node.operator_type) out.push({ name: node.operator_type, s: node.operator_timing ?? 0, rows: node.operator_cardinality ?? 0 });
  for (const c of node.children ?? []) operatorsOf(c, out);
  return out;
}

type QueryMethod = (this: Store, sql: string, params?: readonly SqlValue[]) => Promise<unknown>;

/**
 * Replaces Store's query methods (`value`, `one` and `all` go through `all`) with timed ones; returns the list
 * the timings go to. With `profileFile`, each statement's DuckDB JSON profile is read from that file.
 */
export function timeStatements(profileFile?: string): Timing[] {
  const timings: Timing[] = [];
  const proto = Store.prototype as unknown as Record<'run' | 'all', QueryMethod>;
  for (const method of ['run', 'all'] as const) {
    const original = proto[method];
    proto[method] = async function (this: Store, sql: string, params?: readonly SqlValue[]) {
      if (profileFile) rmSync(profileFile, { force: true });
      const started = performance.now();
      const cpu0 = process.cpuUsage();
      try {
        return await original.call(this, sql, params);
      } finally {
        const ms = performance.now() - started;
        const text = sql.replace(/\s+/g, ' ').trim();
        const maxRssMb = process.resourceUsage().maxRSS / 1024;
        const used = process.cpuUsage(cpu0);
        const cpu = (used.user + used.system) / 1e6;
        if (profileFile && existsSync(profileFile) && ms > 100) {
          const root = JSON.parse(readFileSync(profileFile, 'utf8')) as ProfileNode;
          const ops = operatorsOf(root)
            .sort((a, b) => b.s - a.s)
            .slice(0, 8)
            .map((o) => `${o.name} ${o.s.toFixed(2)}s/${o.rows}`)
            .join(', ');
          timings.push({ ms, sql: text, maxRssMb, cpu, profile: { cpu: root.cpu_time ?? 0, peakMb: (root.system_peak_buffer_memory ?? 0) / 2 ** 20, operators: ops } });
        } else {
          timings.push({ ms, sql: text, maxRssMb, cpu });
        }
      }
    };
  }
  return timings;
}

// `npx tsx bench/profile-ingest.ts [FILE] [--preset NAME] [--memory-limit 1GB] [--set name=value]... [--operators] [--memory]
//    [--into STORE]`: with --into, the ingest goes into a copy of STORE (e.g. bench/out/daily-base-10000000.duckdb,
//    the 10M-line store of bench/ingest-daily.ts) instead of a fresh store.
if (process.argv[1]?.endsWith('profile-ingest.ts')) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const preset = flag('--preset');
  const into = flag('--into');
  const memoryLimit = flag('--memory-limit');
  const settings: string[] = [];
  for (let v = flag('--set'); v !== undefined; v = flag('--set')) settings.push(v);
  const operators = args.includes('--operators');
  const file = resolve(args.filter((a) => !a.startsWith('--'))[0] ?? 'bench/out/orders-10000000-c200000-bad1000000.csv');
  const db = resolve('bench/out/profile.duckdb');
  rmSync(db, { force: true });
  rmSync(`${db}.wal`, { force: true });
  if (into) copyFileSync(resolve(into), db);
  const store = await Store.open(db, memoryLimit ? { memoryLimit } : {});
  for (const v of settings) await store.run(`SET ${v}`);
  const profileFile = resolve('bench/out/profile.json');
  const original = { all: Store.prototype.all };
  if (operators) {
    await store.run("PRAGMA enable_profiling = 'json'");
    await store.run(`PRAGMA profiling_output = '${profileFile}'`);
  }
  const timings = timeStatements(operators ? profileFile : undefined);
  if (args.includes('--memory')) {
    // After each large statement, DuckDB's own account of its memory by tag (the query itself is not timed).
    const proto = Store.prototype as unknown as Record<'run' | 'all', QueryMethod>;
    for (const method of ['run', 'all'] as const) {
      const timed = proto[method];
      proto[method] = async function (this: Store, sql: string, params?: readonly SqlValue[]) {
        const result = await timed.call(this, sql, params);
        if (/^(CREATE|INSERT)/.test(sql.trim())) {
          const tags = await original.all.call(this, "SELECT tag, round(memory_usage_bytes / 2 ** 20) AS mb FROM duckdb_memory() WHERE memory_usage_bytes > 2 ** 25");
          console.log(`   memory after ${sql.replace(/\s+/g, ' ').trim().slice(0, 50)}: ${tags.map((t) => `${String(t['tag'])} ${String(t['mb'])} MB`).join(', ')}, RSS now ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB`);
        }
        return result;
      };
    }
  }
  const started = performance.now();
  const report = await ingest(store, { entity: 'orders', files: [file], ...(preset ? { preset } : {}), rejectsDir: resolve('bench/out/rejects') });
  const total = performance.now() - started;
  store.close();
  const closed = performance.now() - started;
  console.log(JSON.stringify(report.totals));
  const cpu = process.cpuUsage();
  console.log(
    `ingest ${(total / 1000).toFixed(2)} s, with close ${(closed / 1000).toFixed(2)} s, process cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, load ${(await import('node:os')).loadavg()[0]?.toFixed(1)}`,
  );
  for (const t of [...timings].sort((a, b) => b.ms - a.ms).slice(0, 15)) {
    console.log(`${(t.ms / 1000).toFixed(2).padStart(7)} s  cpu ${t.cpu.toFixed(2).padStart(6)} s  ${t.maxRssMb.toFixed(0).padStart(5)} MB  ${t.sql.slice(0, 120)}`);
    if (t.profile) console.log(`           DuckDB cpu ${t.profile.cpu.toFixed(2)} s, peak buffer ${t.profile.peakMb.toFixed(0)} MB: ${t.profile.operators}`);
  }
}
