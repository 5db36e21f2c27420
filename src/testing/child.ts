// Other processes for tests of readers and writers (DuckDB's locks are per process): a child script driven line by line, and a store lock held on demand.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { projectRoot } from './shared-data.js';

/** A child process that prints lines on stdout and reads lines on stdin. */
export interface Child {
  readonly pid: number;
  /** The next line printed on stdout; rejects, with what it printed on stderr, if the child exits first. */
  line(): Promise<string>;
  send(line: string): void;
  /** Closes its stdin and resolves its exit code. */
  exit(): Promise<number | null>;
}

/**
 * Runs an ES module script in a child Node process from the project root (so that it finds node_modules), with `args`
 * as process.argv[1...]; with `tsx`, the script may import the TypeScript sources (by absolute path).
 */
export function spawnScript(script: string, args: readonly string[] = [], options: { tsx?: boolean } = {}): Child {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    process.execPath,
    [...(options.tsx ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script, ...args],
    { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let stderr = '';
  let ended = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next.resolve(line);
    else lines.push(line);
  });
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  void exited.then(() => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`the child process exited: ${stderr.trim()}`));
  });
  return {
    pid: child.pid as number,
    line: () => {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended) return Promise.reject(new Error(`the child process exited: ${stderr.trim()}`));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    send: (line) => void child.stdin.write(`${line}\n`),
    exit: () => {
      child.stdin.end();
      return exited;
    },
  };
}

const HOLDER = `
import { DuckDBInstance } from '@duckdb/node-api';
import { createInterface } from 'node:readline';
let instance;
for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line);
  try {
    if (request.hold) {
      instance = await DuckDBInstance.create(request.file, request.hold === 'read' ? { access_mode: 'READ_ONLY' } : {});
      console.log('held');
    } else {
      instance?.closeSync();
      instance = undefined;
      console.log('released');
    }
  } catch (err) {
    console.log('error: ' + err.message);
  }
}`;

/** Another process that holds a store's lock on demand: shared ('read') or exclusive ('write'). Stop it in afterAll. */
export interface LockHolder {
  readonly pid: number;
  /** Opens the store at `file` in the child; rejects with DuckDB's message when it cannot. */
  hold(file: string, access: 'read' | 'write'): Promise<void>;
  /** Closes it: once per hold, however often it is called (a test releases when it sees a wait, and in `finally`). */
  release(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a lock holder (one child process, reused by a file's tests: a Node process with DuckDB takes about a second to start). */
export function lockHolder(): LockHolder {
  const child = spawnScript(HOLDER);
  let releasing: Promise<void> | undefined = Promise.resolve();
  const ask = async (request: object): Promise<void> => {
    child.send(JSON.stringify(request));
    const answer = await child.line();
    if (answer.startsWith('error: ')) throw new Error(answer.slice('error: '.length));
  };
  return {
    pid: child.pid,
    hold: async (file, access) => {
      await ask({ hold: access, file });
      releasing = undefined;
    },
    release: () => (releasing ??= ask({ release: true })),
    stop: async () => {
      await child.exit();
    },
  };
}
