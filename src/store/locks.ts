// Readers and writers of the store file: who holds its lock, in words; waiting for it; the BUSY error when the wait runs out.
import { KairosError } from '../errors.js';
import { servedBy } from './served.js';

/*
 * Readers and writers. DuckDB locks the store file per process (measured with DuckDB 1.5.5): a read-write open takes
 * an exclusive lock, a read-only open (or an in-memory database with the file ATTACHed READ_ONLY) a shared one. So
 * any number of readers coexist, one writer excludes everyone, and an open that conflicts fails at once with "Could
 * not set lock on file ... Conflicting lock is held in PROGRAM (PID n)", followed by "However, you would be able to
 * open this database in read-only mode" when the holders are readers. DuckDB has no waiting open: it is here, in one
 * place (`acquire`, used by Store.open and Store.setAccess), retrying every STORE_RETRY_MS until `waitSeconds`, then
 * a BUSY error in Kairos's terms (DuckDB's message suggests its own CLI's -readonly flag). There is no queue: a
 * writer gets the lock at a try when no reader holds it, which short reads leave room for.
 */

/** How often an open that found the store locked tries again: short next to a publish (a few seconds at 1M customers). */
export const STORE_RETRY_MS = 250;

/** Who holds the store when an open finds it locked. */
export interface StoreBusy {
  readonly file: string;
  /** The process holding the lock and its program, when DuckDB names them. */
  readonly pid?: number;
  readonly program?: string;
  /** 'writing': a process holds the write lock; 'reading': one or more processes read it (we wanted to write). */
  readonly holder: 'writing' | 'reading';
  /** How long the open waits (seconds). */
  readonly waitSeconds: number;
}

/** The holder in words: "another process (PID 4242, /usr/bin/node) is writing to it". */
export function describeHolder(busy: StoreBusy): string {
  const who = busy.pid === undefined ? 'another process' : `another process (PID ${busy.pid}${busy.program ? `, ${busy.program}` : ''})`;
  return busy.holder === 'writing'
    ? `${who} is writing to it (kairos ingest, compact, demo, or a score publishing its run)`
    : `${who} is reading it (kairos sql, show, runs, export, evaluate, or a score computing)`;
}

/** The lock conflict in a DuckDB open or ATTACH error, or undefined when the error is something else. */
export function lockConflict(cause: unknown, file: string, waitSeconds: number): StoreBusy | undefined {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (!message.includes('Could not set lock on file')) return undefined;
  const held = /Conflicting lock is held in (.*?) \(PID (\d+)\)/.exec(message);
  return {
    file,
    ...(held ? { program: held[1] as string, pid: Number(held[2]) } : {}),
    holder: message.includes('would be able to open this database in read-only mode') ? 'reading' : 'writing',
    waitSeconds,
  };
}

/**
 * The error for a store that `kairos serve` holds: it holds the store while it serves, so waiting is pointless, and
 * the API is the way in. Undefined when the holder is not a server (or not the one its mark names).
 */
function servedError(busy: StoreBusy): KairosError | undefined {
  const served = servedBy(busy.file);
  if (served === undefined || (busy.pid !== undefined && busy.pid !== served.pid)) return undefined;
  return new KairosError('BUSY', `the store ${busy.file} is served by kairos serve (PID ${served.pid}) at ${served.url}: while it serves, go through its API`, {
    details: { file: busy.file, holder: 'serving', pid: served.pid, url: served.url },
    hint: `GET ${served.url}/openapi.json lists the routes; or stop the server (Ctrl-C, or kill ${served.pid}) and run the command again`,
  });
}

function busyError(busy: StoreBusy): KairosError {
  const waited = busy.waitSeconds > 0;
  return new KairosError('BUSY', `the store ${busy.file} is ${waited ? `still in use after ${busy.waitSeconds} s` : 'in use'}: ${describeHolder(busy)}`, {
    details: { file: busy.file, holder: busy.holder, ...(busy.pid === undefined ? {} : { pid: busy.pid }) },
    hint: waited
      ? 'wait longer with --wait SECONDS (or KAIROS_WAIT), or try again when it is done (kairos runs shows a score in progress)'
      : 'let kairos wait for it with --wait SECONDS (or KAIROS_WAIT), or try again when it is done',
  });
}

/**
 * Runs `attempt` (an open or an ATTACH) until it does not fail on the file's lock: every STORE_RETRY_MS for up to
 * `waitSeconds`, calling `onWait` once when it starts waiting; then BUSY. Other errors are thrown as they are.
 */
export async function acquire<T>(file: string, options: { waitSeconds?: number; onWait?: (busy: StoreBusy) => void }, attempt: () => Promise<T>): Promise<T> {
  const waitSeconds = Math.max(0, options.waitSeconds ?? 0);
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  for (;;) {
    try {
      return await attempt();
    } catch (cause) {
      const busy = lockConflict(cause, file, waitSeconds);
      if (busy === undefined) throw cause;
      const served = servedError(busy);
      if (served !== undefined) throw served;
      if (Date.now() >= deadline) throw busyError(busy);
      if (!told) options.onWait?.(busy);
      told = true;
      await new Promise((done) => setTimeout(done, STORE_RETRY_MS));
    }
  }
}
