// The worker thread of kairos serve's runner: one job (a scoring run or an ingest), its SQL on the main thread's store (src/store/remote.ts).
import { isMainThread, parentPort, type MessagePort } from 'node:worker_threads';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { ingest } from '../ingest/ingest.js';
import { registryFor } from '../scores/registry.js';
import { buildSnapshot, readSnapshotMeta } from '../scores/lookup.js';
import { PUBLISHING, runScores } from '../scores/run.js';
import { RemoteStore, serialiseError } from '../store/remote.js';
import type { Entity } from '../store/migrations.js';
import type { RunJob, WorkerEvent } from './jobs.js';

/** The stage a run reports while the serving snapshot of its results is made (after its rows are in the store). */
export const SNAPSHOT_STAGE = `${PUBLISHING}: the serving snapshot`;

/** A job for the worker: what to do, and the port of its own connection to the store. */
export interface WorkerJob {
  readonly kind: 'job';
  readonly storePath: string;
  readonly storePort: MessagePort;
  readonly job: RunJob;
  readonly config: KairosConfig;
}

if (!isMainThread && parentPort) {
  const parent = parentPort;
  const stop = new AbortController();
  const send = (e: WorkerEvent): void => parent.postMessage(e);
  parent.on('message', (m: WorkerJob | { kind: 'stop'; reason?: string }) => {
    if (m.kind === 'stop') stop.abort(m.reason ?? 'the server is stopping');
    else if (m.kind === 'job') {
      runJob(m, stop.signal, send);
    }
  });
}

/** Runs one job on its store port; says how it went through `send`. */
function runJob(input: WorkerJob, signal: AbortSignal, send: (e: WorkerEvent) => void): void {
  const { storePath, storePort, job, config } = input;
  const store = new RemoteStore(storePath, storePort).asStore();
  const work = async (): Promise<unknown> => {
    if (job.kind === 'score') {
      // The shipped scorers and the configuration's custom scores, as kairos score builds them.
      const registry = registryFor(config);
      // The scorers in run order: the stage "scoring X" is scorer done + 1 of total.
      const names = registry.resolve(job.scorers).map((s) => s.name);
      let done = 0;
      return runScores(store, {
        config,
        registry,
        ...(job.asOf === undefined ? {} : { asOf: job.asOf }),
        ...(job.scorers === undefined ? {} : { scorers: job.scorers }),
        lockedBy: 'kairos serve',
        signal,
        onStart: (runId) => send({ kind: 'started', runId }),
        // The serving snapshot of what the run is about to publish, made before it is marked completed: the server
        // puts it to use the moment the run ends (else look-ups would read the store, or an old snapshot, meanwhile).
        beforeComplete: async (runId) => {
          // Not when the server is stopping: it would wait for the snapshot (25-30 s at 1M customers); the next start makes it.
          if (storePath === ':memory:' || signal.aborted) return;
          send({ kind: 'progress', stage: SNAPSHOT_STAGE, done: names.length, total: names.length });
          try {
            const made = await buildSnapshot(store, registry, storePath, { including: runId });
            send({ kind: 'snapshot', key: made?.key ?? readSnapshotMeta(storePath)?.key ?? null, why: null });
          } catch (err) {
            send({ kind: 'snapshot', key: null, why: err instanceof Error ? err.message : String(err) });
          }
        },
        onProgress: (message) => {
          // A stop lands at the next step a scorer reports (a snapshot, a fit), not only between scorers: the error
          // goes up through the scorer, and the run is marked failed with the store as before it. Publishing reports
          // nothing, so a run that publishes completes.
          if (signal.aborted && message !== PUBLISHING) {
            throw new KairosError('INTERRUPTED', `the run was stopped before it was published (${String(signal.reason)}): the store is as before it`, {
              hint: 'start it again (POST /runs, or kairos score)',
            });
          }
          const m = /^scoring (\S+)$/.exec(message);
          if (m) done = Math.max(0, names.indexOf(m[1] as string));
          if (message === PUBLISHING) done = names.length;
          send({ kind: 'progress', stage: message, done, total: names.length });
        },
      });
    }
    const files = job.files;
    let done = 0;
    send({ kind: 'progress', stage: `ingesting ${files.length} file(s)`, done, total: files.length });
    const report = await ingest(store, {
      entity: job.entity as Entity,
      files,
      settings: config.ingest[job.entity as Entity] ?? {},
      timezone: config.timezone,
      ...(job.rejectsDir === undefined ? {} : { rejectsDir: job.rejectsDir }),
      onProgress: (message) => send({ kind: 'progress', stage: message, done, total: files.length }),
    });
    done = files.length;
    return report;
  };
  work().then(
    (result) => send({ kind: 'done', result: JSON.parse(JSON.stringify(result)) as unknown }),
    (err: unknown) => send({ kind: 'failed', error: serialiseError(err) }),
  ).finally(() => storePort.close());
}
