// The journal of the rescorings kairos serve has answered: appended and synced to a file beside the store before each answer, moved into rescored_scores in large groups behind it, and replayed at the next start after a crash.
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KairosError } from '../errors.js';
import { isOutOfMemory, type Store } from '../store/db.js';
import { saveRescorings, type Rescored } from './rescore.js';

/*
 * Why a file of our own before the store (docs/benchmarks.md, "After: rescorings through a journal"): a rescoring must be
 * durable before its answer (a kill -9 loses nothing acknowledged), and a DuckDB transaction per group of rescorings
 * cost 8-10 ms of round trips (temp table, DELETE, INSERT, COMMIT) on the store's one writer connection, shared
 * with ingests and a scoring run's publication: at 1M customers, 10 clients got 294-336 rescorings/s during a run,
 * p99 56-58 ms. Appending a group's lines to a file and syncing it (fdatasync) takes 0.3-0.8 ms here, off the
 * JavaScript thread: 500/s, p99 26-35 ms. The store then takes the journal's rows in one transaction every quarter
 * of a second or 2,000 rows. An embedded key-value store would be a second native database for an append-only
 * file read back only after a crash. The file holds customer ids, so an erasure moves the journal into the store
 * first and the erasure's transaction deletes the rows there; a file is deleted once its rows are committed.
 */

/** A journal file's rows go into the store after this long, or sooner at this many rows. */
export const JOURNAL_FLUSH = { ms: 250, rows: 2_000 } as const;

/** The journal files beside the store `db`, oldest first: `<db>.rescored-<n>.ndjson`. */
export function journalFiles(db: string): string[] {
  const dir = dirname(db);
  const prefix = `${basename(db)}.rescored-`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, n: name.startsWith(prefix) && name.endsWith('.ndjson') ? Number(name.slice(prefix.length, -'.ndjson'.length)) : NaN }))
    .filter((f) => Number.isSafeInteger(f.n))
    .sort((a, b) => a.n - b.n)
    .map((f) => join(dir, f.name));
}

function journalFile(db: string, n: number): string {
  return `${db}.rescored-${n}.ndjson`;
}

/** A rescoring as one journal line: what saveRescorings writes (not the published values it answered with). */
function line(r: Rescored): string {
  return `${JSON.stringify({ c: r.customerId, r: r.runId, m: r.model, at: r.rescoredAt, to: r.observedTo, s: r.summary, v: r.scores })}\n`;
}

/**
 * The rescorings of a journal file, in order. A line cut short by a crash (the last one, of a group whose sync had
 * not returned: never answered) is counted in `torn` and left out.
 */
export function readJournal(file: string): { rows: Rescored[]; torn: number } {
  const rows: Rescored[] = [];
  let torn = 0;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    try {
      const j = JSON.parse(text) as { c: string; r: number; m: Rescored['model']; at: string; to: string; s: Rescored['summary']; v: Rescored['scores'] };
      rows.push({ customerId: j.c, runId: j.r, model: j.m, rescoredAt: j.at, observedTo: j.to, summary: j.s, scores: j.v, previous: {} });
    } catch {
      torn++;
    }
  }
  return { rows, torn };
}

/**
 * Moves the journal files left beside the store `db` (a server stopped without moving them: killed, or its store
 * failing) into rescored_scores, in one transaction, then deletes them. Called at kairos serve's start and by
 * kairos erase. Null when there was none.
 */
export async function replayJournal(store: Store, db: string): Promise<{ files: number; rows: number; torn: number } | null> {
  const files = journalFiles(db);
  if (files.length === 0) return null;
  let torn = 0;
  const rows: Rescored[] = [];
  for (const f of files) {
    const read = readJournal(f);
    rows.push(...read.rows);
    torn += read.torn;
  }
  // saveRescorings keeps each customer's last row: the files and their lines are in the order they were answered.
  await saveRescorings(store, rows);
  for (const f of files) unlinkSync(f);
  return { files: files.length, rows: rows.length, torn };
}

type Connection = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;
type Log = (level: 'info' | 'warn', details: Record<string, unknown>, message: string) => void;

interface Waiting {
  readonly rows: readonly Rescored[];
  readonly done: (kept: Rescored[]) => void;
  readonly fail: (err: unknown) => void;
  /** Set by settle(): the file is closed after this group and handed to the store. */
  readonly rotate?: boolean;
}

/** A journal file closed to appends, waiting for its rows to be committed to the store. */
interface Closed {
  readonly path: string | null;
  readonly rows: Rescored[];
}

/**
 * kairos serve's writer of rescorings. `save` resolves once the rows are durable: appended to the journal file and
 * synced, the rescorings that arrive meanwhile going into the next append together (a group commit); with an
 * in-memory store (no file), once they are committed to the store, in groups too. Behind the answers, each file is
 * closed after JOURNAL_FLUSH's time or rows and its rows written to rescored_scores in one transaction on the writer
 * connection, then deleted. Until then `pending` has each customer's newest row, for the reads that would otherwise
 * miss it. An erasure (`erasing`, then `erased`) moves everything into the store first and refuses the customer's
 * rescorings computed before its erasure committed.
 */
export class RescoreJournal {
  private queue: Waiting[] = [];
  private appending = false;
  /** The file being appended to: its number, handle (opened at its first rows) and rows. */
  private file: { n: number; fh: FileHandle | null; rows: Rescored[] } = { n: 1, fh: null, rows: [] };
  private closed: Closed[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly newest = new Map<string, Rescored>();
  /** Customers being erased (Infinity) or erased at that time (ms): their rescorings computed before are refused. */
  private readonly erasures = new Map<string, number>();
  private failure: unknown = null;
  private stopped = false;

  constructor(
    /** The store's file (null: an in-memory store; no journal, each group committed to the store before its answer). */
    private readonly db: string | null,
    /** The writer connection. */
    private readonly writer: Connection,
    private readonly log: Log,
  ) {
    if (db !== null) {
      const left = journalFiles(db);
      if (left.length > 0) throw new KairosError('INTERNAL', `journal files left beside ${db}: replayJournal moves them into the store first`);
    }
  }

  /**
   * Makes `rows` durable; resolves with those kept: a customer's rescoring computed before their erasure committed
   * is left out (it would bring their id back).
   */
  save(rows: readonly Rescored[]): Promise<Rescored[]> {
    return new Promise((done, fail) => {
      this.queue.push({ rows, done, fail });
      this.pump();
    });
  }

  /** Whether rescorings are made durable in a file (false for an in-memory store: committed to it, on the writer connection). */
  get journaled(): boolean {
    return this.db !== null;
  }

  /** The customer's newest rescoring not yet in the store, if any. */
  pending(customerId: string): Rescored | undefined {
    return this.newest.get(customerId);
  }

  /** The customers with a rescoring not yet in the store. */
  pendingCustomers(): IterableIterator<string> {
    return this.newest.keys();
  }

  /**
   * Before the customer's erasure: from now on their rescorings are refused, and every rescoring answered so far is
   * moved into the store (where the erasure's transaction deletes theirs). Then `erased` once it has committed (or
   * failed).
   */
  async erasing(customerId: string): Promise<void> {
    this.erasures.set(customerId, Infinity);
    await this.settle();
  }

  /** The customer's erasure has ended: their rescorings computed from now on are kept (a customer of the same id ingested again). */
  erased(customerId: string): void {
    const now = Date.now();
    this.erasures.set(customerId, now);
    // A rescoring is computed in milliseconds: a minute later, none computed before the erasure is still on its way.
    for (const [id, at] of this.erasures) if (now - at > 60_000) this.erasures.delete(id);
  }

  /** Resolves once every rescoring answered so far is in the store and its journal files deleted. */
  async settle(): Promise<void> {
    await new Promise<Rescored[]>((done, fail) => {
      this.queue.push({ rows: [], done, fail, rotate: true });
      this.pump();
    });
    while (this.flushing !== null || this.closed.length > 0) {
      this.flush();
      await this.flushing;
      if (this.closed.length > 0 && this.failure !== null) throw this.failure;
    }
  }

  /** At the server's stop: everything into the store (what cannot be is left in the journal, replayed at the next start). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopped = true;
    try {
      await this.settle();
    } catch (err) {
      this.log('warn', { err, rows: this.newest.size }, 'rescorings left in the journal (moved into the store at the next start)');
    }
    await this.file.fh?.close();
    this.file.fh = null;
  }

  private pump(): void {
    if (this.appending) return;
    this.appending = true;
    void (async () => {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        const kept: Rescored[][] = group.map((g) => g.rows.filter((r) => this.allowed(r)));
        const rows = kept.flat();
        try {
          if (rows.length > 0) await this.append(rows);
          for (const [i, g] of group.entries()) if (!g.rotate) g.done(kept[i] ?? []);
        } catch (err) {
          for (const g of group) g.fail(err);
          // What the failed append wrote may end in a cut line: the next rows go to a new file.
          this.rotate();
        }
        if (group.some((g) => g.rotate) || this.file.rows.length >= JOURNAL_FLUSH.rows) this.rotate();
        for (const g of group) if (g.rotate) g.done([]);
      }
      this.appending = false;
    })();
  }

  private allowed(r: Rescored): boolean {
    const erased = this.erasures.get(r.customerId);
    return erased === undefined || Date.parse(r.rescoredAt) > erased;
  }

  private async append(rows: Rescored[]): Promise<void> {
    if (this.db === null) {
      // No file: committed to the store before the answer.
      await this.commit(rows);
      return;
    }
    if (this.file.fh === null) {
      this.file.fh = await open(journalFile(this.db, this.file.n), 'a');
      this.timer = setTimeout(() => {
        this.timer = null;
        this.queue.push({ rows: [], done: () => undefined, fail: () => undefined, rotate: true });
        this.pump();
      }, JOURNAL_FLUSH.ms);
    }
    await this.file.fh.write(rows.map(line).join(''));
    await this.file.fh.datasync();
    this.file.rows.push(...rows);
    for (const r of rows) if ((this.newest.get(r.customerId)?.rescoredAt ?? '') <= r.rescoredAt) this.newest.set(r.customerId, r);
  }

  /** Closes the file to appends and hands its rows to the store. */
  private rotate(): void {
    const f = this.file;
    this.file = { n: f.n + 1, fh: null, rows: [] };
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (f.fh === null) return;
    void f.fh.close().catch(() => undefined);
    this.closed.push({ path: this.db === null ? null : journalFile(this.db, f.n), rows: f.rows });
    this.flush();
  }

  /** Writes the closed files' rows to the store, oldest first, one transaction each, and deletes each file after. */
  private flush(): void {
    if (this.flushing !== null || this.closed.length === 0) return;
    this.flushing = (async () => {
      try {
        while (this.closed.length > 0) {
          const f = this.closed[0] as Closed;
          await this.commit(f.rows);
          if (f.path !== null) unlinkSync(f.path);
          this.closed.shift();
          for (const r of f.rows) if (this.newest.get(r.customerId) === r) this.newest.delete(r.customerId);
        }
        this.failure = null;
      } catch (err) {
        // Kept in the journal (and in `pending`): tried again at the next file's turn, by settle, or at the next start.
        this.failure = err;
        this.log('warn', { err, files: this.closed.length }, 'rescorings not moved into the store yet (kept in the journal)');
        if (!this.stopped) setTimeout(() => this.flush(), 1_000).unref();
      } finally {
        this.flushing = null;
      }
    })();
  }

  /**
   * One transaction; tried again twice, a quarter of a second apart, when DuckDB was out of memory: a scoring run in
   * the server can fill the memory limit for a while (it raises the limit and retries its own step).
   */
  private async commit(rows: readonly Rescored[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writer((store) => saveRescorings(store, rows));
        return;
      } catch (err) {
        if (attempt >= 2 || !isOutOfMemory(err)) throw err;
        await new Promise((wait) => setTimeout(wait, 250));
      }
    }
  }
}
