// The CLI's output helpers: tables for people (probabilities as percentages, many rows), writers that survive a closed pipe.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_SECONDS, formatProbability, pipeWriter, progressReporter, renderTable, storeWait, waitFromEnvironment, type Io } from './io.js';
import { positiveInteger, wholeNumber } from './options.js';

describe('formatProbability', () => {
  it('shows a rounded percentage, never an exponent', () => {
    expect(formatProbability(1.86384e-7)).toBe('< 0.01%');
    expect(formatProbability(0.0037)).toBe('0.37%');
    expect(formatProbability(0.8642)).toBe('86.4%');
    expect(formatProbability(0.99991)).toBe('> 99.99%');
    expect(formatProbability(0)).toBe('0%');
    expect(formatProbability(1)).toBe('100%');
    expect(formatProbability(Number.NaN)).toBe('n/a');
  });
});

describe('progressReporter', () => {
  const lines = (isTty: boolean, global: { json?: boolean; quiet?: boolean; progress?: boolean }): string[] => {
    const seen: string[] = [];
    const io: Io = { out: () => {}, err: (t) => seen.push(t), isTty };
    progressReporter(io, { db: 'x', json: false, quiet: false, ...global })('step');
    return seen;
  };

  it('writes on a terminal, or anywhere with --progress, never with --quiet', () => {
    expect(lines(true, {})).toEqual([expect.stringMatching(/^ {2}\[\d+\.\ds\] step$/)]);
    expect(lines(false, {})).toEqual([]);
    expect(lines(true, { json: true })).toEqual([]);
    expect(lines(false, { progress: true })).toHaveLength(1);
    expect(lines(false, { progress: true, json: true })).toHaveLength(1);
    expect(lines(true, { progress: true, quiet: true })).toEqual([]);
  });
});

describe('renderTable', () => {
  it('formats the columns given, keeps the others as numbers and nulls empty', () => {
    const table = renderTable(['id', 'p_alive', 'clv'], [
      { id: 'a', p_alive: 1.86384e-7, clv: 12.5 },
      { id: 'b', p_alive: null, clv: 3 },
    ], 40, { p_alive: formatProbability });
    expect(table.split('\n')).toEqual(['id  p_alive  clv', '--  -------  ----', 'a   < 0.01%  12.5', 'b            3']);
  });

  it('renders 200,000 rows (column widths without spreading every row as arguments)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ n: i }));
    expect(renderTable(['n'], rows).split('\n')).toHaveLength(200_002);
  });
});

describe('pipeWriter', () => {
  it('drops the output quietly once the reader has gone (EPIPE), without an unhandled error', async () => {
    let writes = 0;
    const closed = new Writable({
      write(_chunk, _encoding, done) {
        writes++;
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const write = pipeWriter(closed as unknown as NodeJS.WriteStream);
    write('first');
    await new Promise((resolve) => setImmediate(resolve));
    write('second');
    write('third');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toBe(1);
  });
});

describe('whole-number options', () => {
  it('takes digits only, within the range, and says what is expected', () => {
    expect(positiveInteger('20')).toBe(20);
    for (const bad of ['abc', '-1', '0', '2.5', '1e3', '', '0x10']) expect(() => positiveInteger(bad), bad).toThrow('Expected a whole number of 1 or more.');
    expect(wholeNumber(0)('0')).toBe(0);
    expect(() => wholeNumber(10, 5_000_000)('5000001')).toThrow('Expected a whole number from 10 to 5,000,000.');
  });
});

describe('waiting for the store (--wait, KAIROS_WAIT)', () => {
  it('KAIROS_WAIT gives the default wait in whole seconds; a malformed one is a usage error', () => {
    expect(waitFromEnvironment({})).toBe(DEFAULT_WAIT_SECONDS);
    expect(waitFromEnvironment({ KAIROS_WAIT: '0' })).toBe(0);
    expect(waitFromEnvironment({ KAIROS_WAIT: ' 300 ' })).toBe(300);
    for (const bad of ['soon', '-1', '2.5']) {
      expect(() => waitFromEnvironment({ KAIROS_WAIT: bad })).toThrow(expect.objectContaining({ code: 'USAGE', message: `KAIROS_WAIT="${bad}" is not a number of seconds (expected a whole number of 0 or more)` }));
    }
  });

  it('says once on stderr who holds the store and for how long it waits, unless --quiet', () => {
    const said: string[] = [];
    const io: Io = { out: () => {}, err: (s) => void said.push(s), isTty: false };
    const busy = { file: '/data/k.duckdb', pid: 4242, program: '/usr/bin/node', holder: 'writing' as const, waitSeconds: 30 };
    const wait = storeWait(io, { db: 'k.duckdb', json: true, quiet: false, wait: 30 });
    expect(wait.waitSeconds).toBe(30);
    wait.onWait?.(busy);
    storeWait(io, { db: 'k.duckdb', json: false, quiet: true }).onWait?.(busy);
    expect(said).toEqual([
      'waiting for the store /data/k.duckdb: another process (PID 4242, /usr/bin/node) is writing to it (kairos ingest, compact, demo, or a score publishing its run); waiting up to 30 s (--wait)',
    ]);
  });
});
