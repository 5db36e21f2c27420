// What is published works: `npm pack`, installed into an empty folder, runs `kairos demo` and ships no test code.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix, sep } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from './testing/shared-data.js';

/** Pack and install take ~20-45 s (most of it the install; more with a cold npm cache), the demo a few seconds. */
const SETUP_TIMEOUT_MS = 300_000;
const DEMO_TIMEOUT_MS = 120_000;
/** Small and quick: the demo's smallest sensible shop. */
const DEMO_CUSTOMERS = 100;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment a user's shell would give the command: without vitest's variables or a developer's KAIROS_* settings. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VITEST|KAIROS_)/.test(k) || k === 'TEST' || k === 'NODE_ENV') continue;
    env[k] = v;
  }
  return env;
}

/** Runs a command to completion and returns its exit code and output (never throws on a non-zero exit). */
function runCommand(file: string, args: readonly string[], cwd: string, timeout: number): Promise<Ran> {
  return new Promise((resolvePromise) => {
    execFile(file, [...args], { cwd, env: userEnv(), timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolvePromise({ code, stdout, stderr: err !== null && typeof err.code !== 'number' ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

/** Expects exit code 0, showing the command's output when it is not. */
function expectSuccess(what: string, r: Ran): void {
  expect(r.code, `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
}

/** Every file below `dir`, as a '/'-separated path relative to `dir`. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split(sep).join('/'))
    .sort();
}

/** The package name of a bare import specifier: 'commander' -> 'commander', '@duckdb/node-api/x' -> '@duckdb/node-api'. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

const builtins = new Set(builtinModules);
const isBuiltin = (s: string): boolean => s.startsWith('node:') || builtins.has(packageName(s));

describe('the published package (npm pack, installed into an empty folder)', () => {
  let work: string;
  let app: string;
  let tarball: string;
  let installed: string;
  let files: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kairos-package-'));
    const packDir = join(work, 'pack');
    app = join(work, 'app');
    mkdirSync(packDir);
    mkdirSync(app);
    // `npm pack` runs `prepare`, which builds into a clean dist.
    expectSuccess('npm pack', await runCommand('npm', ['pack', '--pack-destination', packDir], projectRoot, SETUP_TIMEOUT_MS));
    const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    expect(tgz).toHaveLength(1);
    tarball = join(packDir, tgz[0] as string);
    // Its own package.json, so that npm installs here and not into a project found further up.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kairos-package-check', private: true }) + '\n');
    const install = await runCommand('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app, SETUP_TIMEOUT_MS);
    expectSuccess('npm install <tarball>', install);
    installed = join(app, 'node_modules', 'kairos');
    files = listFiles(installed);
  }, SETUP_TIMEOUT_MS);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('holds only bin, the compiled sources and the package metadata (no tests, fixtures or src/testing)', () => {
    const expectedDist = listFiles(join(projectRoot, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('testing/'))
      .map((f) => `dist/${f.replace(/\.ts$/, '.js')}`);
    const dist = files.filter((f) => f.startsWith('dist/'));
    expect(dist).toEqual(expectedDist.sort());
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(['README.md', 'bin/kairos.js', 'package.json']);
    expect(files.filter((f) => /\.test\.js$|(^|\/)testing\/|__fixtures__/.test(f))).toEqual([]);
    // Small: ~160 kB packed today; a stray data set, store or node_modules would be megabytes.
    expect(statSync(tarball).size).toBeLessThan(1_000_000);
  });

  it('imports only its dependencies, Node built-ins and its own files (no vitest, playwright-core or other devDependency)', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
    const devDependencies = new Set(Object.keys(manifest.devDependencies ?? {}));
    expect(devDependencies).toContain('vitest');
    const wrong: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(join(installed, file), 'utf8');
      const imports = ts.preProcessFile(source, true, true).importedFiles.map((i) => i.fileName);
      for (const specifier of imports) {
        if (specifier.startsWith('.')) {
          const target = posix.normalize(posix.join(posix.dirname(file), specifier));
          if (!files.includes(target)) wrong.push(`${file}: imports ${specifier}, which is not in the package`);
        } else if (devDependencies.has(packageName(specifier))) {
          wrong.push(`${file}: imports ${specifier}, a devDependency`);
        } else if (!isBuiltin(specifier) && !dependencies.has(packageName(specifier))) {
          wrong.push(`${file}: imports ${specifier}, which is not a dependency`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it(
    `runs the installed \`kairos demo --customers ${DEMO_CUSTOMERS}\` in that folder: exit 0 and the summary`,
    async () => {
      const bin = join(app, 'node_modules', '.bin', 'kairos');
      expect(existsSync(bin)).toBe(true);
      const r = await runCommand(bin, ['demo', '--customers', String(DEMO_CUSTOMERS)], app, DEMO_TIMEOUT_MS);
      expectSuccess('kairos demo', r);
      expect(r.stdout).toContain('Kairos demo: a synthetic retailer');
      expect(r.stdout).toContain(`${DEMO_CUSTOMERS} customers, `);
      expect(r.stdout).toMatch(new RegExp(`scored ${DEMO_CUSTOMERS} customers as of \\d{4}-\\d{2}-\\d{2}`));
      expect(r.stdout).toContain('RFM segments');
      expect(existsSync(join(app, 'kairos.duckdb'))).toBe(true);
      expect(existsSync(join(app, 'kairos-demo'))).toBe(true);
    },
    DEMO_TIMEOUT_MS,
  );
});
