// The run lock beside the store: one holder at a time, named in the refusal; a dead holder's lock taken over; waiting.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { acquireRunLock, runLockFile, runLockHolder } from './run-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'kairos-run-lock-'));
const store = join(dir, 'k.duckdb');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the run lock', () => {
  it('refuses a second run while one holds it (BUSY naming the holder), and is free again once released', async () => {
    const release = await acquireRunLock(store, 'kairos serve');
    expect(runLockHolder(store)).toMatchObject({ pid: process.pid, by: 'kairos serve' });
    const second = await acquireRunLock(store, 'kairos score').catch((e: unknown) => e);
    expect(second).toBeInstanceOf(KairosError);
    expect((second as KairosError).code).toBe('BUSY');
    expect((second as KairosError).message).toMatch(new RegExp(`a scoring run is already in progress on .*: kairos serve, PID ${process.pid}, since \\d{4}-`));
    // Waiting: the lock is released during the wait, and the waiter takes it.
    setTimeout(release, 100);
    const waited = await acquireRunLock(store, 'kairos score', { waitSeconds: 5 });
    expect(runLockHolder(store)?.by).toBe('kairos score');
    waited();
    expect(existsSync(runLockFile(store))).toBe(false);
  });

  it('takes over a lock whose process is gone (a killed run), and one left by an earlier process of the same id', async () => {
    writeFileSync(runLockFile(store), JSON.stringify({ pid: 99999999, by: 'kairos score', since: '2026-01-01T00:00:00Z' }));
    const release = await acquireRunLock(store, 'kairos serve');
    expect(JSON.parse(readFileSync(runLockFile(store), 'utf8'))).toMatchObject({ pid: process.pid, by: 'kairos serve' });
    release();
    writeFileSync(runLockFile(store), JSON.stringify({ pid: process.pid, by: 'kairos serve', since: '2020-01-01T00:00:00Z' }));
    (await acquireRunLock(store, 'kairos score'))();
  });
});
