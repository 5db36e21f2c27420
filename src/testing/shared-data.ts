// Where the shared real data sets live (../shared beside the checkout, in CI too): tests that need them say so.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of the project root. */
export const projectRoot = resolve(here, '..', '..');

/** Absolute path of ../shared (override with KAIROS_SHARED). Throws if it is missing: such tests must not pass silently. */
export function sharedDir(): string {
  const dir = process.env.KAIROS_SHARED ?? resolve(projectRoot, '..', 'shared');
  if (!existsSync(dir)) {
    throw new Error(`shared data folder not found at ${dir}: clone the project beside ../shared or set KAIROS_SHARED`);
  }
  return dir;
}

/** Path of a file under ../shared/data. */
export function sharedData(...parts: string[]): string {
  return join(sharedDir(), 'data', ...parts);
}

/** Path of a file under ../shared/peers. */
export function sharedPeers(...parts: string[]): string {
  return join(sharedDir(), 'peers', ...parts);
}
