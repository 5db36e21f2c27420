// A store being served (kairos serve): a small file beside it names the server, so that a command finding the store
// locked says to go through the API; a second one, readable by its owner only, holds the server's local token.
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

/** The file beside the store that holds the server's local token (mode 0600). */
export function servedTokenFile(store: string): string {
  return `${store}.serve.token`;
}

/**
 * Says, beside the store, that this process serves it at `url`. With `token`, the server's local token is written
 * beside it for its owner alone (0600, made anew): `kairos keys` and `kairos erase` on the same machine, by the user
 * who may open the store file (and so could do anything with it when it is not served), reach the server with it.
 */
export function markServed(store: string, url: string, token?: string): void {
  if (token !== undefined) {
    rmSync(servedTokenFile(store), { force: true });
    writeFileSync(servedTokenFile(store), `${token}\n`, { mode: 0o600, flag: 'wx' });
  }
  writeFileSync(servedFile(store), `${JSON.stringify({ pid: process.pid, url } satisfies Served)}\n`);
}

/** Removes the mark and the token (when the server stops); a mark of another process is left. */
export function unmarkServed(store: string): void {
  if (servedBy(store, { includeSelf: true })?.pid === process.pid) {
    rmSync(servedFile(store), { force: true });
    rmSync(servedTokenFile(store), { force: true });
  }
}

/** The local token of the store's server, undefined when there is none or it cannot be read (another user). */
export function servedToken(store: string): string | undefined {
  try {
    return readFileSync(servedTokenFile(store), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
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
