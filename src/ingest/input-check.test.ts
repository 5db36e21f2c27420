// The byte-level input check: line lengths across chunk boundaries, in and past the head, and gzip integrity.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { checkInput } from './input-check.js';
import { rng } from '../testing/orders-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'kairos-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The first line (1-based) longer than `max` bytes before its line feed, or null: what checkInput must find. */
function firstLongLine(text: string, max: number): number | null {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => Buffer.byteLength(l) > max);
  return i < 0 ? null : i + 1;
}

async function failure(promise: Promise<void>): Promise<KairosError | null> {
  return promise.then(
    () => null,
    (e: unknown) => e as KairosError,
  );
}

describe('checkInput', () => {
  it('finds the first line over the limit, in the head or past it, whatever the chunk size (seed 7)', async () => {
    const rand = rng(7);
    for (let t = 0; t < 60; t++) {
      const max = 5 + Math.floor(rand() * 40);
      const lines = Array.from({ length: 1 + Math.floor(rand() * 60) }, () => 'x'.repeat(Math.floor(rand() * (rand() < 0.03 ? 3 * max : max + 1))));
      const text = lines.join('\n') + (rand() < 0.5 ? '\n' : '');
      const path = file(`r${t}.csv`, text);
      const expected = firstLongLine(text, max);
      for (const gz of [false, true]) {
        const p = gz ? file(`r${t}.csv.gz`, gzipSync(text)) : path;
        const check = checkInput(p, { maxLineBytes: max, headLines: Math.floor(rand() * 10), chunkBytes: 1 + Math.floor(rand() * 50) });
        const err = await failure(check.done);
        if (expected === null) expect(err, `case ${t}`).toBeNull();
        else {
          expect(err?.code, `case ${t}`).toBe('VALIDATION');
          expect(err?.message, `case ${t}`).toBe(`${p} line ${expected}: line longer than ${max} bytes; nothing was loaded`);
        }
      }
    }
  });

  it('rejects the head when the long line is in it, before the rest is read', async () => {
    const text = ['a,b', '1,2', 'x'.repeat(500), ...Array.from({ length: 100 }, () => '3,4')].join('\n');
    const check = checkInput(file('head.csv', text), { maxLineBytes: 100, headLines: 10, chunkBytes: 64 });
    expect((await failure(check.head))?.message).toMatch(/head\.csv line 3: line longer than 100 bytes/);
  });

  it('reads carriage-return line breaks', async () => {
    const ok = checkInput(file('cr.csv', 'a,b\r1,2\r3,4\r'), { maxLineBytes: 4, headLines: 1, chunkBytes: 3 });
    expect(await failure(ok.done)).toBeNull();
  });

  it('refuses a truncated or corrupt gzip file, naming it', async () => {
    const whole = gzipSync(Array.from({ length: 5000 }, (_, i) => `c${i},${i * 7}`).join('\n'));
    const truncated = file('t.csv.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    const err = await failure(checkInput(truncated, { maxLineBytes: 100 }).done);
    expect(err?.code).toBe('VALIDATION');
    expect(err?.message).toBe(`${truncated}: the gzip file is truncated (unexpected end of file); nothing was loaded`);
    const crc = Buffer.from(whole);
    crc[crc.length - 6] = (crc[crc.length - 6] ?? 0) ^ 0xff;
    const corrupt = file('c.csv.gz', crc);
    expect((await failure(checkInput(corrupt, { maxLineBytes: 100 }).done))?.message).toMatch(/c\.csv\.gz: the gzip file is corrupt \(incorrect data check\)/);
    expect(await failure(checkInput(file('w.csv.gz', whole), { maxLineBytes: 100 }).done)).toBeNull();
  });

  it('stops when cancelled', async () => {
    const check = checkInput(file('big.csv', '1,2\n'.repeat(100_000)), { maxLineBytes: 100, chunkBytes: 16 });
    check.cancel();
    expect((await failure(check.done))?.name).toBe('AbortError');
  });
});
