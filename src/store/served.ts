// A store being served (kairos serve): a small file beside it names the server, so that a command finding the store locked says to go through the API.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { processLives } from '../util/process.js';

/** Who serves a store. */
export interface Served {
  readonly pid: number;
  /** The API's address, e.g. http://127.0.0.1:8080. */
  readonly url: string;
}

/** The file beside the store that says it is served. */
export function servedFile(store: string): string {
  return `${store}.serve.json`;
}

/** Says, beside the store, that this process serves it at `url`. */
export function markServed(store: string, url: string): void {
  writeFileSync(servedFile(store), `${JSON.stringify({ pid: process.pid, url } satisfies Served)}\n`);
}

/** Removes the mark (when the server stops); a mark of another process is left. */
export function unmarkServed(store: string): void {
  if (servedBy(store, { includeSelf: true })?.pid === process.pid) rmSync(servedFile(store), { force: true });
}

/** The server of a store, when its mark names a process that lives (a mark left by a killed server is ignored). */
export function servedBy(store: string, options: { includeSelf?: boolean } = {}): Served | undefined {
  let served: Served;
  try {
    served = JSON.parse(readFileSync(servedFile(store), 'utf8')) as Served;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(served.pid) || typeof served.url !== 'string') return undefined;
  if (options.includeSelf && served.pid === process.pid) return served;
  return processLives(served.pid) ? served : undefined;
}
