// What a benchmark ran on, and small helpers its parent processes share: child runs, medians, formatting.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly duckdb: string;
  readonly nodeApi: string;
  /** 1-minute load average when the benchmark started: above nproc, other jobs were competing for the cores. */
  readonly loadAtStart: number;
}

/** nproc, CPU, memory, Node, DuckDB and @duckdb/node-api versions, current load. */
export async function machine(): Promise<Machine> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const version = String((await connection.runAndReadAll('SELECT version()')).getRows()[0]?.[0]);
  connection.closeSync();
  instance.closeSync();
  const nodeApi = (JSON.parse(readFileSync('node_modules/@duckdb/node-api/package.json', 'utf8')) as { version: string }).version;
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    duckdb: version,
    nodeApi,
    loadAtStart: loadavg()[0] ?? 0,
  };
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Runs `script` (a TypeScript file, through tsx) in a fresh Node process with `args` and returns the JSON it prints
 * on its last stdout line: one measurement per process, so peak memory of one run never includes another's.
 */
export function child<T>(script: string, args: readonly string[]): T {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const lines = r.stdout.trim().split('\n');
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(lines[lines.length - 1] ?? 'null') as T;
}

/** The value after `name` on the command line, or `fallback`. */
export function option(name: string, fallback: string, argv: readonly string[] = process.argv): string {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
}

/** Every value given after `name` on the command line (an option that may repeat, e.g. --bin). */
export function options(name: string, argv: readonly string[] = process.argv): string[] {
  return argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []));
}

/** Seconds with two decimals. */
export const sec = (s: number): string => s.toFixed(2);

/** Times one DuckDB reference query in this process (a fresh in-memory instance, default threads): seconds. */
export async function referenceSeconds(sql: string, path = ':memory:'): Promise<number> {
  const instance = await DuckDBInstance.create(path, path === ':memory:' ? {} : { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const started = performance.now();
  await connection.runAndReadAll(sql);
  const seconds = (performance.now() - started) / 1000;
  connection.closeSync();
  instance.closeSync();
  return seconds;
}
