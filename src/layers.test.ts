// One direction between folders: a module imports only from its own folder or from folders below it in LAYERS (type imports too).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/**
 * The folders of src, lowest first: pure pieces at the bottom (errors, formatting, math, the demo generator, the
 * models and the tree ensembles of ml), then the store, settings, ingest, features, the backtest toolkit, saved
 * segments and the per-run summaries (a run records both as it publishes), the scorers, evaluation, the HTTP
 * server, the dashboard it serves (a plugin of the server: it uses the server's keys, the server does not know it),
 * and the CLI.
 * Data flows ingest -> store -> features -> models -> scores; imports point down this list. Test-only code
 * (src/testing) may import anything and is imported only by tests.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'util'],
  ['math', 'demo'],
  ['models', 'ml'],
  ['store'],
  ['config'],
  ['ingest'],
  ['features'],
  ['backtest'],
  ['segments', 'history'],
  ['scores'],
  ['evaluate'],
  ['server'],
  ['dashboard'],
  ['cli'],
  ['testing'],
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** First folder (or file stem) under src of a path. */
function folderOf(path: string): string {
  return (relative(SRC, path).split('/')[0] ?? '').replace(/\.(ts|js)$/, '');
}

/** Every relative import, re-export and dynamic import() of a file, resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const statics = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gms)];
  const dynamics = [...text.matchAll(/\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g)];
  return [...statics, ...dynamics].map((m) => resolve(dirname(file), m[1] as string));
}

describe('folder layering', () => {
  const files = sources(SRC);

  it('knows every folder of src', () => {
    const unknown = [...new Set(files.map(folderOf))].filter((f) => !rank.has(f));
    expect(unknown, 'add new folders to LAYERS').toEqual([]);
  });

  it('has no import that points up (no folder cycle)', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      for (const target of importsOf(file)) {
        const to = folderOf(target);
        if (to !== from && (rank.get(to) ?? -1) > (rank.get(from) ?? -1)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
