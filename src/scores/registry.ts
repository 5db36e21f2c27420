// The score registry: every scorer a run computes, checked when it loads and ordered by dependencies. Add a scorer to SCORERS.
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { affinityScorer } from './affinity/index.js';
import { clvScorer } from './clv/index.js';
import { customScorers } from './custom/index.js';
import { engagementScorer } from './engagement/index.js';
import { learnedScorer } from './learned/index.js';
import { lifecycleScorer } from './lifecycle/index.js';
import { promotionScorer } from './promotion/index.js';
import { recommendScorer } from './recommend/index.js';
import { rfmScorer } from './rfm/index.js';
import { ITEM_DEFAULTS, type ItemOutput, type ScoreColumn, type Scorer, type ScoreType } from './types.js';

/** Columns of customer_scores that belong to the run, not to a scorer. */
export const RUN_COLUMNS = ['run_id', 'scored_as_of'] as const;

/** A column of customer_scores that a scorer provides: a declared score, or one made from an item output. */
export interface ProvidedColumn {
  readonly scorer: Scorer;
  readonly name: string;
  readonly type: ScoreType;
  readonly description: string;
  /** The score column, or the item output the column comes from. */
  readonly source: { column: ScoreColumn } | { output: ItemOutput; top?: number };
}

/** Snake case, as table and column names must be (they become identifiers: scores_<name>, items_<name>). */
const NAME = /^[a-z][a-z0-9_]*$/;

/** The columns an item output adds to customer_scores: `<name>` (list or map) and `<name>_1..<name>_N` (the top keys). */
export function itemColumns(output: ItemOutput): { name: string; type: ScoreType; top?: number }[] {
  const n = output.columns ?? ITEM_DEFAULTS.columns;
  return [
    { name: output.name, type: output.shape === 'map' ? 'map' : 'list' },
    ...Array.from({ length: n }, (_, i) => ({ name: `${output.name}_${i + 1}`, type: 'text' as const, top: i + 1 })),
  ];
}

/** A checked, dependency-ordered set of scorers. */
export class ScoreRegistry {
  /** Every scorer, each after the scorers it depends on. */
  readonly scorers: readonly Scorer[];
  /** Every column the scorers add to customer_scores, by name. */
  readonly columns: ReadonlyMap<string, ProvidedColumn>;

  /**
   * Checks the scorers as they load: names in snake case, no two scorers with the same name, no score column (or
   * item output column) named twice or like a column of `customers` or of the run, dependencies that exist and do not
   * form a cycle. Any of these is an INTERNAL error naming both sides: a registry is never loaded with renamed columns.
   */
  constructor(scorers: readonly Scorer[]) {
    const byName = new Map<string, Scorer>();
    for (const s of scorers) {
      if (!NAME.test(s.name)) throw new KairosError('INTERNAL', `scorer name "${s.name}" is not snake_case`);
      if (byName.has(s.name)) throw new KairosError('INTERNAL', `two scorers are named "${s.name}"`);
      byName.set(s.name, s);
    }
    const owners = new Map<string, string>([...CUSTOMER_COLUMNS, ...RUN_COLUMNS].map((c) => [c, 'the customers table or the run']));
    const columns = new Map<string, ProvidedColumn>();
    const claim = (scorer: Scorer, name: string, column: Omit<ProvidedColumn, 'scorer' | 'name'>): void => {
      if (!NAME.test(name)) throw new KairosError('INTERNAL', `scorer ${scorer.name}: column name "${name}" is not snake_case`);
      const owner = owners.get(name);
      if (owner !== undefined) {
        throw new KairosError('INTERNAL', `scorer ${scorer.name}: column "${name}" is already a column of ${owner} (customer_scores would have two)`, {
          hint: 'rename the score column: names in customer_scores are unique',
        });
      }
      owners.set(name, `scorer ${scorer.name}`);
      columns.set(name, { scorer, name, ...column });
    };
    for (const s of scorers) {
      for (const c of s.columns) claim(s, c.name, { type: c.type, description: c.description, source: { column: c } });
      for (const o of s.items ?? []) {
        for (const c of itemColumns(o)) {
          const description = c.top === undefined ? `${o.description} (top ${o.keep ?? ITEM_DEFAULTS.keep})` : `${o.kind} ranked ${c.top} in ${o.name}`;
          claim(s, c.name, { type: c.type, description, source: c.top === undefined ? { output: o } : { output: o, top: c.top } });
        }
      }
    }
    const outputs = new Map<string, string>();
    for (const s of scorers) {
      for (const o of s.items ?? []) {
        if (outputs.has(o.name)) throw new KairosError('INTERNAL', `item output "${o.name}" is declared by ${outputs.get(o.name)} and ${s.name}`);
        if (o.view !== undefined && ![o.view.name, o.view.key, o.view.value].every((n) => NAME.test(n))) {
          throw new KairosError('INTERNAL', `item output ${o.name}: its view's names (${o.view.name}, ${o.view.key}, ${o.view.value}) must be snake_case`);
        }
        outputs.set(o.name, s.name);
      }
      for (const d of s.dependsOn ?? []) {
        if (!byName.has(d)) throw new KairosError('INTERNAL', `scorer ${s.name} depends on "${d}", which is not registered (registered: ${[...byName.keys()].join(', ')})`);
      }
    }
    this.scorers = dependencyOrder(scorers, byName);
    this.columns = columns;
  }

  /** The scorer called `name`; a USAGE error listing the valid names otherwise. */
  get(name: string): Scorer {
    const s = this.scorers.find((x) => x.name === name);
    if (!s) throw new KairosError('USAGE', `invalid scorer "${name}" (expected one of ${this.scorers.map((x) => x.name).join(', ')})`);
    return s;
  }

  /** Scorers by name, in dependency order (all of them when `names` is empty or missing). */
  resolve(names?: readonly string[]): Scorer[] {
    if (!names || names.length === 0) return [...this.scorers];
    const wanted = new Set(names.map((n) => this.get(n).name));
    return this.scorers.filter((s) => wanted.has(s.name));
  }

  /** The scorers that declare `name` among their dependencies. */
  dependents(name: string): Scorer[] {
    return this.scorers.filter((s) => (s.dependsOn ?? []).includes(name));
  }

  /** The scorer and every scorer it depends on, directly or not. */
  closure(name: string): Set<string> {
    const out = new Set<string>();
    const visit = (n: string): void => {
      if (out.has(n)) return;
      out.add(n);
      for (const d of this.get(n).dependsOn ?? []) visit(d);
    };
    visit(name);
    return out;
  }
}

/** Depth-first order, dependencies first, registration order otherwise; a cycle is an INTERNAL error naming it. */
function dependencyOrder(scorers: readonly Scorer[], byName: ReadonlyMap<string, Scorer>): Scorer[] {
  const done = new Set<string>();
  const visiting: string[] = [];
  const out: Scorer[] = [];
  const visit = (s: Scorer): void => {
    if (done.has(s.name)) return;
    if (visiting.includes(s.name)) {
      throw new KairosError('INTERNAL', `scorer dependencies form a cycle: ${[...visiting.slice(visiting.indexOf(s.name)), s.name].join(' -> ')}`);
    }
    visiting.push(s.name);
    for (const d of s.dependsOn ?? []) visit(byName.get(d) as Scorer);
    visiting.pop();
    done.add(s.name);
    out.push(s);
  };
  for (const s of scorers) visit(s);
  return out;
}

/** The scorers Kairos ships, in registration order. */
export const SCORERS: readonly Scorer[] = [rfmScorer, clvScorer, lifecycleScorer, engagementScorer, learnedScorer, recommendScorer, affinityScorer, promotionScorer];

/** The registry every command uses (checked when this module loads). */
export const DEFAULT_REGISTRY = new ScoreRegistry(SCORERS);

/**
 * The registry of a configuration: the shipped scorers, then its custom scores (kairos.config.json `customScores`), each
 * after the scorers its criteria read. A custom score whose name or columns collide with a shipped one, or whose
 * criterion does not compile, stops the command here with a USAGE error (every command that reads scores builds it).
 */
export function registryFor(config: Pick<KairosConfig, 'customScores'>): ScoreRegistry {
  if (config.customScores.length === 0) return DEFAULT_REGISTRY;
  let registry: ScoreRegistry | undefined;
  const get = (): ScoreRegistry => {
    if (registry === undefined) throw new KairosError('INTERNAL', 'custom scores used before their registry was built');
    return registry;
  };
  registry = new ScoreRegistry([...SCORERS, ...customScorers(config.customScores, DEFAULT_REGISTRY, get)]);
  return registry;
}
