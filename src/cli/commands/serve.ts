// `kairos serve` (the HTTP API over the store), `kairos keys` (its API keys) and `kairos erase` (the right to be forgotten).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { EXIT_CODES, KairosError, type ErrorCode } from '../../errors.js';
import { formatCount } from '../../util/format.js';
import { printJson, renderTable, SERVE_MEMORY_LIMIT, storeWait, type GlobalOptions, type Io } from '../io.js';
import { positiveInteger, wholeNumber } from '../options.js';

/** The signals that stop the server: it finishes the requests in flight, then closes the store. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function scopeOption(text: string): string {
  if (!['read', 'write', 'admin'].includes(text)) throw new InvalidArgumentError('Expected one of read, write, admin.');
  return text;
}

export function registerServe(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('serve')
    .description('serve the HTTP API over the store (one process holds it); stop with Ctrl-C or SIGTERM')
    .option('--host <host>', 'address to listen on (127.0.0.1: this machine only)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', wholeNumber(0, 65_535), 8080)
    .option('--rate-limit <n>', 'requests per API key (or address, without a key) and minute', positiveInteger, 600)
    .option('--body-limit <bytes>', 'largest request body', positiveInteger, 1024 * 1024)
    .option('--watch <dir>', 'ingest the data files dropped in DIR (orders-*.csv, customers-*.parquet, ...), then move them to DIR/done or DIR/failed')
    .option('--schedule <cron>', 'start a scoring run on this cron schedule, e.g. "0 6 * * *" (06:00 every day, in the config\'s time zone)')
    .addHelpText(
      'after',
      `
The dashboard is at /dashboard (sign in with an API key; docs/dashboard.md). Every API route but /health and
/openapi.json needs "Authorization: Bearer KEY" (kairos keys create). The routes,
scopes and errors: GET /openapi.json, and docs/api.md. Logs: one JSON line per request on stderr (not with --quiet).
While it serves, the server holds the store: other kairos commands on it are told to go through the API.
Scoring runs (POST /runs, --schedule) and ingest jobs (--watch, POST /ingest/{entity}/jobs) run one at a time off
the request path; reads are answered from the last published run meanwhile. A run left unfinished by a killed server
is reported failed at the next start. The refit policy ("refit" in kairos.config.json) applies to every run.`,
    )
    .action(async (flags: { host: string; port: number; rateLimit: number; bodyLimit: number; watch?: string; schedule?: string }) => {
      const g = global();
      const config = loadConfig(g.config);
      const { Cron } = await import('croner');
      let cron: InstanceType<typeof Cron> | undefined;
      if (flags.schedule !== undefined) {
        try {
          // Paused until the server listens; the pattern and zone are checked now.
          cron = new Cron(flags.schedule, { paused: true, timezone: config.timezone, protect: true });
        } catch (cause) {
          throw new KairosError('USAGE', `--schedule "${flags.schedule}": ${(cause as Error).message}`, { cause, hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "0 6 * * *"' });
        }
      }
      const [{ Store }, { buildServer }, { markServed, unmarkServed }, { FolderWatcher }, { registryFor }, { dashboardPlugin }] = await Promise.all([
        import('../../store/db.js'),
        import('../../server/app.js'),
        import('../../store/served.js'),
        import('../../server/watch.js'),
        import('../../scores/registry.js'),
        import('../../dashboard/plugin.js'),
      ]);
      const registry = registryFor(config);
      if (flags.watch !== undefined && !(existsSync(flags.watch) && statSync(flags.watch).isDirectory())) {
        throw new KairosError('NOT_FOUND', `--watch: no folder ${resolve(flags.watch)}`, { hint: 'create it, or give another folder' });
      }
      const store = await Store.open(g.db, { mustExist: true, ...storeWait(io, g), ...(g.memoryLimitGiven ? {} : { memoryLimit: SERVE_MEMORY_LIMIT }) });
      // For kairos keys on this machine while the store is served (beside the store, for its owner: src/store/served.ts).
      const localToken = `local_${randomBytes(32).toString('base64url')}`;
      let app: Awaited<ReturnType<typeof buildServer>> | undefined;
      let watcher: InstanceType<typeof FolderWatcher> | undefined;
      try {
        app = await buildServer(store, {
          version: program.version() ?? 'unknown',
          config,
          registry,
          logger: g.quiet ? false : { level: 'info', stream: process.stderr },
          rateLimit: { max: flags.rateLimit, timeWindowMs: 60_000 },
          bodyLimit: flags.bodyLimit,
          plugins: [dashboardPlugin],
          localToken,
        });
        try {
          await app.listen({ host: flags.host, port: flags.port });
        } catch (cause) {
          throw new KairosError('USAGE', `cannot listen on ${flags.host}:${flags.port}: ${(cause as Error).message}`, { cause, hint: 'choose another --port (or --host)' });
        }
        const address = app.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : flags.port;
        const url = `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}`;
        markServed(store.path, url, localToken);
        const server = app;
        if (flags.watch !== undefined) {
          watcher = new FolderWatcher(
            resolve(flags.watch),
            server.runner,
            config.watch,
            (o) => server.log[o.status === 'done' ? 'info' : 'error']({ file: o.file, movedTo: o.movedTo, job: o.jobId }, `watch: ${o.message}`),
            (err) => server.log.error({ err }, 'watch: the folder could not be read'),
          );
          watcher.start();
        }
        if (cron) {
          const job = cron;
          cron = new Cron(flags.schedule as string, { timezone: config.timezone, protect: true }, async () => {
            try {
              const started = await server.runner.start({ kind: 'score' }, 'schedule');
              server.log.info({ job: started.jobId, run: started.runId }, 'schedule: scoring run started');
            } catch (err) {
              server.log.error({ err: (err as Error).message }, 'schedule: no scoring run this time');
            }
          });
          job.stop();
        }
        const started = {
          listening: url,
          db: store.path,
          pid: process.pid,
          interruptedRuns: server.interruptedRuns,
          ...(watcher ? { watch: watcher.dir } : {}),
          ...(cron ? { schedule: flags.schedule, nextRun: cron.nextRun()?.toISOString() ?? null } : {}),
        };
        if (g.json) io.out(JSON.stringify(started));
        else {
          io.out(`kairos serve: listening on ${url} (store ${store.path}, PID ${process.pid}); dashboard at ${url}/dashboard; stop with Ctrl-C`);
          for (const id of server.interruptedRuns) io.out(`run ${id} was interrupted (the process running it stopped before publishing it): marked failed, nothing of it is shown`);
          if (watcher) io.out(`watching ${watcher.dir}: files moved to done/ or failed/ once ingested`);
          if (cron) io.out(`scoring runs on the schedule "${flags.schedule}" (${config.timezone}); next at ${cron.nextRun()?.toISOString() ?? 'never'}`);
        }
        const signal = await new Promise<string>((done) => {
          for (const s of STOP_SIGNALS) process.once(s, () => done(s));
        });
        if (!g.quiet && !g.json) {
          const job = app.runner.active();
          io.err(`kairos serve: ${signal}: finishing the requests in flight${job ? ` and stopping job ${job.jobId} (${job.stage})` : ''}, then closing the store`);
        }
      } finally {
        for (const s of STOP_SIGNALS) process.removeAllListeners(s);
        cron?.stop();
        await watcher?.stop();
        // fastify.close waits for the requests in flight, then stops the job in progress (a run not yet publishing is
        // marked failed, the store as before it; one publishing completes); the store closes (and checkpoints) after.
        await app?.close();
        unmarkServed(store.path);
        store.close();
      }
    });
}

/**
 * A request to the server that holds the store, on a route that takes its local token (src/store/served.ts: the key
 * routes, erasure), or undefined when the store is not served: a leaked key is revoked without stopping the server.
 */
async function throughServer<T>(db: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const { servedBy, servedToken, servedTokenFile } = await import('../../store/served.js');
  const file = resolve(db);
  const served = servedBy(file);
  if (served === undefined) return undefined;
  const where = `the store ${file} is served by kairos serve (PID ${served.pid}) at ${served.url}`;
  const token = servedToken(file);
  if (token === undefined) {
    throw new KairosError('FORBIDDEN', `${where}, and its local token (${servedTokenFile(file)}) cannot be read by this user`, {
      hint: `run the command as the user who started the server, or use the API with an admin key (GET ${served.url}/openapi.json lists the routes)`,
    });
  }
  let res: Response;
  try {
    res = await fetch(`${served.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (cause) {
    throw new KairosError('BUSY', `${where}, which did not answer: ${(cause as Error).message}`, { cause, hint: `check the server (kill -0 ${served.pid}), or stop it and run the command again` });
  }
  const answer = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; hint?: string } } | null;
  if (!res.ok) {
    const e = answer?.error;
    const code = e?.code !== undefined && e.code in EXIT_CODES ? (e.code as ErrorCode) : 'INTERNAL';
    throw new KairosError(code, `${served.url}${path}: ${e?.message ?? `HTTP ${res.status}`}`, e?.hint === undefined ? {} : { hint: e.hint });
  }
  return answer as T;
}

export function registerKeys(program: Command, io: Io, global: () => GlobalOptions): void {
  const keys = program
    .command('keys')
    .description('API keys of kairos serve: create (shown once), list, revoke; through the server while it serves the store');
  const withWriteStore = async <T>(fn: (store: import('../../store/db.js').Store) => Promise<T>): Promise<T> => {
    const g = global();
    const { withStore } = await import('../../store/db.js');
    return withStore(g.db, fn, { mustExist: true, ...storeWait(io, g) });
  };
  keys
    .command('create')
    .description('make an API key and print it once (only its hash is stored)')
    .requiredOption('--scope <scope>', 'read (GET routes), write (read + ingest and runs), admin (everything, personal fields, erasure)', scopeOption)
    .option('--name <name>', 'what the key is for, e.g. "crm sync"')
    .action(async (flags: { scope: 'read' | 'write' | 'admin'; name?: string }) => {
      const { createKey } = await import('../../server/keys.js');
      type Created = Awaited<ReturnType<typeof createKey>>;
      const body = { scope: flags.scope, ...(flags.name === undefined ? {} : { name: flags.name }) };
      const created = (await throughServer<Created>(global().db, 'POST', '/keys', body)) ?? (await withWriteStore((store) => createKey(store, flags.scope, flags.name)));
      if (global().json) return printJson(io, created);
      io.out(created.key);
      io.err(`key ${created.keyId} (${created.scope}${created.name ? `, ${created.name}` : ''}) created: store it now, it is not shown again`);
    });
  keys
    .command('list')
    .description('list the API keys: id, name, scope, created, revoked (never the keys)')
    .action(async () => {
      const { listKeys } = await import('../../server/keys.js');
      const list = (await throughServer<{ keys: Awaited<ReturnType<typeof listKeys>> }>(global().db, 'GET', '/keys'))?.keys ?? (await withWriteStore((store) => listKeys(store)));
      if (global().json) return printJson(io, list);
      io.out(list.length ? renderTable(['keyId', 'name', 'scope', 'createdAt', 'revokedAt'], list.map((k) => ({ ...k }))) : 'no API key yet: kairos keys create --scope read');
    });
  keys
    .command('revoke')
    .description('revoke an API key by id: refused from the next request on (at once by a server that serves the store)')
    .argument('<key_id>')
    .action(async (keyId: string) => {
      const { revokeKey } = await import('../../server/keys.js');
      const revoked =
        (await throughServer<Awaited<ReturnType<typeof revokeKey>>>(global().db, 'DELETE', `/keys/${encodeURIComponent(keyId)}`)) ??
        (await withWriteStore((store) => revokeKey(store, keyId)));
      if (global().json) return printJson(io, revoked);
      io.out(`key ${revoked.keyId} revoked at ${revoked.revokedAt}`);
    });
}

export function registerErase(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command('erase')
    .description("erase a customer from every table (right to be forgotten), in one transaction, with an audit record that holds no personal data")
    .argument('<customer_id>')
    .action(async (customerId: string) => {
      const g = global();
      // A served store: the server erases (its snapshot, its rescorings in memory and in its journal, the store).
      const served = await throughServer<Awaited<ReturnType<typeof import('../../store/erase.js').eraseCustomer>>>(g.db, 'DELETE', `/customers/${encodeURIComponent(customerId)}`);
      const [{ withStore }, { eraseCustomer }, { eraseFromSnapshot }, { replayJournal }] = await Promise.all([
        import('../../store/db.js'),
        import('../../store/erase.js'),
        import('../../scores/lookup.js'),
        import('../../scores/rescore-journal.js'),
      ]);
      const report =
        served ??
        (await withStore(
          g.db,
          async (store) => {
            // The serving snapshot beside the store (kairos serve's look-ups) holds the customer too: their line is overwritten first.
            eraseFromSnapshot(store.path, customerId);
            // So may the rescorings a killed server left in its journal: moved into the store, where the erasure deletes them.
            await replayJournal(store, store.path);
            return eraseCustomer(store, customerId, 'cli');
          },
          { mustExist: true, ...storeWait(io, g) },
        ));
      if (g.json) return printJson(io, report);
      const tables = Object.entries(report.rowsDeleted);
      io.out(`erased customer ${customerId}: ${formatCount(report.total)} rows from ${tables.length} tables (audit record ${report.erasureId})`);
      io.out(renderTable(['table', 'rows'], tables.map(([table, rows]) => ({ table, rows }))));
      io.out('files outside the store (the files ingested, rejects files, exports) are not changed: remove the customer from them too');
    });
}
