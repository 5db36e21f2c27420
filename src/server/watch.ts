// kairos serve --watch DIR: files dropped in a folder are ingested by the runner, then moved to DIR/done or DIR/failed with their rejects beside.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { WatchSettings } from '../config.js';
import { KairosError } from '../errors.js';
import type { Runner } from './runner.js';

/** The files taken: data files by extension (compressed or not). Others (and .part, .tmp, hidden files) are left alone. */
const DATA_FILE = /\.(csv|tsv|txt|parquet|ndjson|jsonl|json)(\.gz|\.zst)?$/i;
const ENTITY_WORD = /^(customers|products|orders|events)(?![a-z])/i;

/** The entity of a dropped file: the first pattern of `entities` that matches its name, else its first word. */
export function entityOfFile(name: string, entities: Readonly<Record<string, string>>): string | undefined {
  for (const [pattern, entity] of Object.entries(entities)) {
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    if (re.test(name)) return entity;
  }
  return ENTITY_WORD.exec(name)?.[1]?.toLowerCase();
}

/** What became of a file. */
export interface WatchOutcome {
  readonly file: string;
  readonly status: 'done' | 'failed';
  /** Where it was moved. */
  readonly movedTo: string;
  readonly jobId: number | null;
  readonly message: string;
}

/**
 * Looks at `dir` every `intervalSeconds` and ingests, one at a time through the runner, each data file whose size and
 * modification time have not changed for `settleSeconds` (a file still being written is not taken half-way: write it
 * under another name, e.g. orders.csv.part, and rename it when done, or let it rest). A finished file goes to
 * DIR/done, one that failed (or whose entity is unknown) to DIR/failed, with `NAME.rejects.csv` (rejected rows) and
 * `NAME.error.txt` (why it failed) beside it. While the runner is busy, files wait for the next look.
 */
export class FolderWatcher {
  private readonly seen = new Map<string, { size: number; mtimeMs: number }>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly runner: Runner,
    private readonly settings: WatchSettings,
    private readonly onOutcome: (o: WatchOutcome) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new KairosError('NOT_FOUND', `--watch: no folder ${dir}`, { hint: 'create it, or give another folder' });
    for (const sub of ['done', 'failed']) mkdirSync(join(dir, sub), { recursive: true });
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      const polling = this.poll().then(
        () => undefined,
        (err: unknown) => this.onError(err),
      );
      this.polling = polling;
      void polling.finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.settings.intervalSeconds * 1000);
      });
    };
    tick();
  }

  /** Stops looking; resolves when the file in progress (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
  }

  /** One look at the folder: ingests the files that are ready, one after the other. Returns their outcomes. */
  async poll(now = Date.now()): Promise<WatchOutcome[]> {
    const outcomes: WatchOutcome[] = [];
    const names = readdirSync(this.dir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.') && DATA_FILE.test(e.name))
      .map((e) => e.name)
      .sort();
    for (const name of [...this.seen.keys()]) if (!names.includes(name)) this.seen.delete(name);
    for (const name of names) {
      if (this.stopped || this.runner.active()) break;
      const path = join(this.dir, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      const before = this.seen.get(name);
      this.seen.set(name, { size: st.size, mtimeMs: st.mtimeMs });
      const resting = before !== undefined && before.size === st.size && before.mtimeMs === st.mtimeMs && now - st.mtimeMs >= this.settings.settleSeconds * 1000;
      if (!resting) continue;
      const outcome = await this.ingestFile(name);
      if (outcome === null) break;
      this.seen.delete(name);
      outcomes.push(outcome);
      this.onOutcome(outcome);
    }
    return outcomes;
  }

  /** Ingests one file and moves it; null when the runner was busy (the file stays for the next look). */
  private async ingestFile(name: string): Promise<WatchOutcome | null> {
    const path = join(this.dir, name);
    const entity = entityOfFile(name, this.settings.entities);
    if (entity === undefined) {
      return this.finish(name, 'failed', null, `no entity for "${name}": name it customers-*, products-*, orders-* or events-*, or map it in kairos.config.json (watch.entities)`, null);
    }
    const rejectsDir = mkdtempSync(join(tmpdir(), 'kairos-watch-'));
    try {
      let job;
      try {
        job = await this.runner.start({ kind: 'ingest', entity, files: [path], rejectsDir }, 'watch');
      } catch (err) {
        // BUSY: another job started meanwhile; the file waits for the next look.
        if (err instanceof KairosError && err.code === 'BUSY') return null;
        throw err;
      }
      await this.runner.idle();
      const ended = this.runner.job(job.jobId);
      if (ended?.status === 'completed') {
        const report = ended.result as { files: { read: number; loaded: number; rejected: number; duplicates: number; rejectsFile: string | null }[] };
        const f = report.files[0];
        const message = f ? `${entity}: read ${f.read} = loaded ${f.loaded} + rejected ${f.rejected} + duplicates ${f.duplicates}` : `${entity}: ingested`;
        return this.finish(name, 'done', job.jobId, message, f?.rejectsFile ?? null);
      }
      return this.finish(name, 'failed', job.jobId, ended?.error ? `${ended.error.code}: ${ended.error.message}` : 'the ingest failed', null);
    } finally {
      rmSync(rejectsDir, { recursive: true, force: true });
    }
  }

  /** Moves the file (and its rejects, and the error in words) to done/ or failed/. */
  private finish(name: string, status: 'done' | 'failed', jobId: number | null, message: string, rejectsFile: string | null): WatchOutcome {
    const folder = join(this.dir, status);
    let target = join(folder, name);
    if (existsSync(target)) {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      target = join(folder, `${basename(name, extname(name))}.${stamp}${extname(name)}`);
    }
    renameSync(join(this.dir, name), target);
    if (rejectsFile && existsSync(rejectsFile)) copyFileSync(rejectsFile, `${target}.rejects.csv`);
    if (status === 'failed') writeFileSync(`${target}.error.txt`, `${message}\n`);
    return { file: name, status, movedTo: target, jobId, message };
  }
}
