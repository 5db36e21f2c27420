// `kairos serve` as a process (port 0: startup line, /health, a key, other commands told to use the API, kairos keys and erase through it, SIGTERM), `kairos keys` and `kairos erase` through main(argv).
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../errors.js';
import { servedFile, servedTokenFile } from '../../store/served.js';
import { spawnScript } from '../../testing/child.js';
import type { Io } from '../io.js';
import { main } from '../main.js';

const SERVE = `
const { run } = await import(${JSON.stringify(new URL('../main.ts', import.meta.url).pathname)});
// The arguments as one JSON word: node would take --db for one of its own options.
process.exitCode = await run(JSON.parse(process.argv[1]));
`;

let dir: string;
let db: string;

async function kairos(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s), isTty: false };
  const code = await main(['--db', db, ...argv], io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-serve-'));
  db = join(dir, 'k.duckdb');
  writeFileSync(
    join(dir, 'orders.csv'),
    ['order_id,customer_id,ordered_at,product_id,quantity,unit_price', 'o1,c1,2024-01-05,p1,1,10', 'o2,c1,2024-02-05,p1,2,10', 'o3,c2,2024-03-01,p2,1,99'].join('\n'),
  );
  expect((await kairos('--quiet', 'ingest', 'orders', join(dir, 'orders.csv'), '--rejects-dir', dir)).code).toBe(0);
});

describe('kairos keys, erase and serve', () => {
  it('serve refuses a malformed --schedule and a missing --watch folder before it listens', async () => {
    const bad = await kairos('serve', '--port', '0', '--schedule', '61 * * * *');
    expect(bad.code).toBe(EXIT_CODES.USAGE);
    expect(bad.err).toMatch(/--schedule "61 \* \* \* \*"/);
    const missing = await kairos('serve', '--port', '0', '--watch', join(dir, 'nowhere'));
    expect(missing.code).toBe(EXIT_CODES.NOT_FOUND);
    expect(missing.err).toMatch(/--watch: no folder .*nowhere/);
  });

  it('keys: create prints the key once, list never shows it, revoke by id; a bad scope is a usage error', async () => {
    const created = await kairos('--json', 'keys', 'create', '--scope', 'read', '--name', 'crm sync');
    expect(created.code, created.err).toBe(0);
    const key = JSON.parse(created.out) as { key: string; keyId: string; scope: string };
    expect(key).toMatchObject({ scope: 'read', name: 'crm sync' });
    expect(key.key).toMatch(/^kairos_[0-9a-f]{12}_/);
    const list = await kairos('keys', 'list');
    expect(list.out).toContain(key.keyId);
    expect(list.out).not.toContain(key.key);
    expect((await kairos('--json', 'keys', 'revoke', key.keyId)).code).toBe(0);
    expect(JSON.parse((await kairos('--json', 'keys', 'list')).out)[0].revokedAt).not.toBeNull();
    expect((await kairos('keys', 'revoke', 'nope')).code).toBe(EXIT_CODES.NOT_FOUND);
    expect((await kairos('keys', 'create', '--scope', 'root')).code).toBe(EXIT_CODES.USAGE);
  });

  it('erase removes a customer from every table and reports the rows, their rescorings left in a killed server\'s journal too; an unknown id is NOT_FOUND', async () => {
    // A rescoring of c1 answered by a server killed before it reached the store (src/scores/rescore-journal.ts).
    const journal = `${db}.rescored-1.ndjson`;
    const summary = { x: 1, tx: 31, T: 60, m: 20 };
    writeFileSync(journal, `${JSON.stringify({ c: 'c1', r: 1, m: 'bg-nbd', at: '2024-03-02T10:00:00.000Z', to: '2024-03-01', s: summary, v: { p_alive: 0.5 } })}\n`);
    const erased = await kairos('--json', 'erase', 'c1');
    expect(erased.code, erased.err).toBe(0);
    expect(JSON.parse(erased.out)).toMatchObject({ rowsDeleted: { customers: 1, orders: 2, rescored_scores: 1 }, total: 4 });
    expect(existsSync(journal)).toBe(false);
    expect((await kairos('--json', 'sql', "SELECT count(*) AS n FROM orders WHERE customer_id = 'c1'")).out).toContain('"n": 0');
    expect((await kairos('erase', 'c1')).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it('serve starts on a free port, answers /health, sends other commands to its API, and stops cleanly on SIGTERM', async () => {
    const key = JSON.parse((await kairos('--json', 'keys', 'create', '--scope', 'read')).out).key as string;
    expect((await kairos('serve', '--help')).out).toContain('--port <n>');
    const child = spawnScript(SERVE, [JSON.stringify(['--db', db, '--json', 'serve', '--port', '0'])], { tsx: true });
    let stopped = false;
    try {
      const started = JSON.parse(await child.line()) as { listening: string; pid: number };
      expect(started.listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(started.pid).toBe(child.pid);
      expect(await (await fetch(`${started.listening}/health`)).json()).toMatchObject({ status: 'ok' });
      const customers = await fetch(`${started.listening}/customers`, { headers: { authorization: `Bearer ${key}` } });
      expect(customers.status).toBe(200);
      // Another command (a reader too: the server holds the write lock) is told at once to go through the API: no wait.
      const refused = await kairos('--wait', '600', 'runs');
      expect(refused.code).toBe(EXIT_CODES.BUSY);
      expect(refused.err).toContain(`served by kairos serve (PID ${child.pid}) at ${started.listening}: while it serves, go through its API`);
      expect(existsSync(servedFile(db))).toBe(true);
      // kairos keys goes through the server, with its local token (beside the store, for its owner alone).
      expect(statSync(servedTokenFile(db)).mode & 0o777).toBe(0o600);
      const made = await kairos('--json', 'keys', 'create', '--scope', 'write', '--name', 'while served');
      expect(made.code, made.err).toBe(0);
      const created = JSON.parse(made.out) as { key: string; keyId: string };
      expect(created).toMatchObject({ scope: 'write', name: 'while served' });
      expect((await fetch(`${started.listening}/runs`, { headers: { authorization: `Bearer ${created.key}` } })).status).toBe(200);
      const listed = await kairos('keys', 'list');
      expect(listed.code, listed.err).toBe(0);
      expect(listed.out).toContain(created.keyId);
      expect((await kairos('keys', 'revoke', created.keyId)).out).toMatch(new RegExp(`key ${created.keyId} revoked at \\d{4}-`));
      expect((await fetch(`${started.listening}/runs`, { headers: { authorization: `Bearer ${created.key}` } })).status).toBe(401);
      const unknown = await kairos('keys', 'revoke', 'nope');
      expect(unknown.code).toBe(EXIT_CODES.NOT_FOUND);
      expect(unknown.err).toContain('no API key nope');
      // So does kairos erase: the server erases (its snapshot, its rescorings, the store).
      const erased = await kairos('--json', 'erase', 'c2');
      expect(erased.code, erased.err).toBe(0);
      expect(JSON.parse(erased.out)).toMatchObject({ rowsDeleted: { orders: 1, customers: 1 } });
      expect((await fetch(`${started.listening}/customers/c2`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(404);
      expect((await kairos('erase', 'c2')).code).toBe(EXIT_CODES.NOT_FOUND);
      process.kill(child.pid, 'SIGTERM');
      expect(await child.exit()).toBe(0);
      stopped = true;
      expect(existsSync(servedFile(db))).toBe(false);
      expect(existsSync(servedTokenFile(db))).toBe(false);
      expect((await kairos('keys', 'list')).code).toBe(0);
      expect(await kairos('sql', 'SELECT requested_by FROM erasures')).toMatchObject({ code: 0, out: expect.stringContaining('cli, through kairos serve') });
    } finally {
      if (!stopped) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
