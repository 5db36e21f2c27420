// The scoring-run lock: a file beside the store naming the process that runs, so that two runs never overlap, in one process or several.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { KairosError } from '../errors.js';
import { processLives } from '../util/process.js';
import { STORE_RETRY_MS } from './locks.js';

/** Who holds the run lock. */
export interface RunLockHolder {
  readonly pid: number;
  /** What runs: 'kairos score', 'kairos serve', ... */
  readonly by: string;
  /** ISO timestamp. */
  readonly since: string;
}

/** The lock file of a store's scoring runs. */
export function runLockFile(store: string): string {
  return `${store}.run.lock`;
}

/** The holder named by the lock file; undefined without a (readable) file. */
export function runLockHolder(store: string): RunLockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(runLockFile(store), 'utf8')) as RunLockHolder;
    return Number.isInteger(h.pid) ? h : undefined;
  } catch {
    return undefined;
  }
}

function busy(store: string, h: RunLockHolder, waitSeconds: number): KairosError {
  return new KairosError('BUSY', `a scoring run is already in progress on ${store}${waitSeconds > 0 ? ` (still after ${waitSeconds} s)` : ''}: ${h.by}, PID ${h.pid}, since ${h.since}`, {
    details: { file: store, holder: 'running', pid: h.pid, by: h.by, since: h.since },
    hint: `wait for it to finish (kairos runs, or GET /runs/current on a server), or pass --wait SECONDS; a lock whose process is gone is taken over (${runLockFile(store)})`,
  });
}

/**
 * Takes the run lock of `store` (a file created exclusively, holding this process's id), or throws BUSY naming the
 * holder. A lock left by a process that is gone (killed) is taken over. With `waitSeconds`, tries again every
 * STORE_RETRY_MS until then. Returns the release (which removes the file only while it is still this holder's).
 * Stores in memory have no lock (nothing else can reach them).
 */
export async function acquireRunLock(store: string, by: string, options: { waitSeconds?: number } = {}): Promise<() => void> {
  if (store === ':memory:') return () => {};
  const file = runLockFile(store);
  const waitSeconds = Math.max(0, options.waitSeconds ?? 0);
  const deadline = Date.now() + waitSeconds * 1000;
  const mine: RunLockHolder = { pid: process.pid, by, since: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${JSON.stringify(mine)}\n`);
      } finally {
        closeSync(fd);
      }
      return () => {
        const h = runLockHolder(store);
        if (h?.pid === mine.pid && h.since === mine.since) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new KairosError('STORE', `cannot create the run lock ${file}: ${(err as Error).message}`, { cause: err });
    }
    const holder = runLockHolder(store);
    // Gone (or a file being written this very moment, read empty: taken as gone only when it stays unreadable).
    if (holder === undefined || !holds(holder)) {
      if (holder !== undefined || staleUnreadable(file)) {
        rmSync(file, { force: true });
        continue;
      }
    } else if (Date.now() >= deadline) throw busy(store, holder, waitSeconds);
    await new Promise((done) => setTimeout(done, holder === undefined ? 20 : STORE_RETRY_MS));
  }
}

/**
 * Whether the holder still runs: its process lives, or it is this process since it started (a lock with this process's
 * id from before its start was left by an earlier process of the same id: a container's PID 1 restarted).
 */
function holds(h: RunLockHolder): boolean {
  if (h.pid !== process.pid) return processLives(h.pid);
  return Date.parse(h.since) >= Date.now() - process.uptime() * 1000 - 1000;
}

/** An unreadable lock file older than 2 s (not one being written this moment): left by a crash mid-write. */
function staleUnreadable(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > 2000;
  } catch {
    return true;
  }
}
