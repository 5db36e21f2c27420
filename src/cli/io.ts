// Where the CLI writes: stdout for results, stderr for progress and errors; tables for people, JSON for machines.
import { KairosError } from '../errors.js';
import type { StoreOptions } from '../store/db.js';
import { describeHolder, type StoreBusy } from '../store/locks.js';
import { wholeNumber } from './options.js';

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** True when stderr is a terminal: progress is shown only then. */
  readonly isTty: boolean;
  /** True when stdout is a terminal (absent: it is not, e.g. a pipe or a test's capture). */
  readonly outIsTty?: boolean;
}

/**
 * A writer to a process stream that goes quiet once the reader has gone (EPIPE: `kairos sql ... | head`): the rest of
 * the output is dropped and the command ends normally, with no stack trace, instead of crashing on the 'error' event.
 */
export function pipeWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  let listening = false;
  return (text) => {
    if (closed) return;
    if (!listening) {
      listening = true;
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
        closed = true;
      });
    }
    stream.write(text.endsWith('\n') ? text : `${text}\n`);
  };
}

export const processIo: Io = {
  out: pipeWriter(process.stdout),
  err: pipeWriter(process.stderr),
  isTty: Boolean(process.stderr.isTTY),
  outIsTty: Boolean(process.stdout.isTTY),
};

/** Options every command has. */
export interface GlobalOptions {
  readonly db: string;
  readonly json: boolean;
  readonly config?: string;
  readonly quiet: boolean;
  /** Progress lines even when stderr is not a terminal (or with --json): for logs and benchmarks. */
  readonly progress?: boolean;
  /** Seconds to wait for a store another process holds (--wait; default KAIROS_WAIT, else DEFAULT_WAIT_SECONDS). */
  readonly wait?: number;
  /** DuckDB's memory limit for this command (--memory-limit; default KAIROS_MEMORY_LIMIT, else DEFAULT_MEMORY_LIMIT). */
  readonly memoryLimit?: string;
  /** Whether the limit was given (--memory-limit or KAIROS_MEMORY_LIMIT), not the default: kairos serve has its own. */
  readonly memoryLimitGiven?: boolean;
}

/**
 * DuckDB's memory limit for every command, unless --memory-limit or KAIROS_MEMORY_LIMIT say otherwise. Beyond it DuckDB
 * spills to disk (a `.tmp` folder beside the store) or, for the few operators that cannot spill, fails; the purchase
 * summary then retries in more passes. DuckDB's own default (80% of the RAM) lets one command take gigabytes on a
 * shared machine for speed it barely needs: at 1M customers `kairos ingest` peaks at 392-415 MB under 256 MB against
 * 858-864 MB under 1 GB in the same time, `kairos score` at 443-472 MB (docs/benchmarks.md, "The user's path").
 */
export const DEFAULT_MEMORY_LIMIT = '256MB';

/**
 * kairos serve's limit unless one is given: the server holds a scoring run's working memory and the requests' at
 * once. Under 256 MB a run at 1M customers filled it (its lifecycle step retried under 976 MiB) and the requests'
 * small writes failed with DuckDB's "Out of Memory" meanwhile (docs/benchmarks.md, "Serving look-ups and rescoring").
 */
export const SERVE_MEMORY_LIMIT = '1GB';

/** A memory size as DuckDB takes it ("512MB", "2GB", "1.5GiB"); anything else is a usage error. */
export function memoryLimitOption(text: string, from = '--memory-limit'): string {
  const t = text.trim();
  if (!/^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(t)) {
    throw new KairosError('USAGE', `${from} "${text}" is not a memory size (expected e.g. 512MB or 2GB)`);
  }
  return t;
}

/** How long a command waits for a store another kairos process is using, unless --wait or KAIROS_WAIT say otherwise. */
export const DEFAULT_WAIT_SECONDS = 60;

/** The wait from KAIROS_WAIT (whole seconds), or the default; a malformed value is a usage error. */
export function waitFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const text = env['KAIROS_WAIT'];
  if (text === undefined || text.trim() === '') return DEFAULT_WAIT_SECONDS;
  try {
    return wholeNumber(0)(text);
  } catch {
    throw new KairosError('USAGE', `KAIROS_WAIT="${text}" is not a number of seconds (expected a whole number of 0 or more)`);
  }
}

/**
 * How a command opens the store when another process holds it: it waits up to --wait seconds, saying so in one line
 * on stderr (unless --quiet), e.g. "waiting for the store kairos.duckdb: another process (PID 4242, /usr/bin/node) is
 * writing to it (...); waiting up to 60 s (--wait)".
 */
export function storeWait(io: Io, global: GlobalOptions): Pick<StoreOptions, 'waitSeconds' | 'onWait' | 'memoryLimit'> {
  const waitSeconds = global.wait ?? DEFAULT_WAIT_SECONDS;
  const onWait = (busy: StoreBusy): void => {
    if (!global.quiet) io.err(`waiting for the store ${busy.file}: ${describeHolder(busy)}; waiting up to ${busy.waitSeconds} s (--wait)`);
  };
  return { waitSeconds, onWait, memoryLimit: global.memoryLimit ?? DEFAULT_MEMORY_LIMIT };
}

/** A progress reporter: one line per step with elapsed seconds, on a terminal (or with --progress), never with --quiet. */
export function progressReporter(io: Io, global: GlobalOptions): (message: string) => void {
  if (global.quiet || !(global.progress === true || (io.isTty && !global.json))) return () => {};
  const start = Date.now();
  return (message) => io.err(`  [${((Date.now() - start) / 1000).toFixed(1)}s] ${message}`);
}

/** Prints a value as JSON (stable two-space indentation). */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

// Tables show probabilities as the explanations do (util/format.ts).
export { formatProbability } from '../util/format.js';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** How a column's values are shown (e.g. formatProbability), by column name. */
export type ColumnFormats = Readonly<Record<string, (value: number) => string>>;

/**
 * A plain text table with a header row; long cells are cut at `maxWidth`. Numbers of a column in `formats` are shown
 * through its function (nulls stay empty).
 */
export function renderTable(columns: readonly string[], rows: readonly Record<string, unknown>[], maxWidth = 40, formats: ColumnFormats = {}): string {
  const text = rows.map((r) => columns.map((c) => {
    const value = r[c];
    const format = formats[c];
    const s = format !== undefined && typeof value === 'number' ? format(value) : cell(value);
    return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s;
  }));
  // A loop, not Math.max(...lengths): spreading 100,000 rows' lengths as arguments overflows the stack.
  const widths = columns.map((c, i) => text.reduce((w, r) => Math.max(w, (r[i] ?? '').length), c.length));
  const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
