// How soon DuckDB's allocator gives freed memory back to the system: set in the environment before DuckDB is loaded.
//
// DuckDB links jemalloc on Linux and reads its options once, from DUCKDB_JE_MALLOC_CONF, when the library loads.
// By default freed pages stay with the process for seconds. Scoring frees a few hundred MB of SQL working memory
// (the purchase summary's aggregation) and right after allocates the models' arrays, so the two would add up in
// the peak resident memory. Returning pages after 50 ms, by jemalloc's background threads (enabled per instance
// in store/db.ts), keeps the peak near the larger of the two at no measurable cost: 1M customers score in the same
// time with a peak of 380-390 MB instead of 445-475 MB with 1 s (docs/benchmarks.md). 0 ms peaks lower still
// (~365 MB) but returns and refaults every freed page during the query itself, which costs ~0.4 s there.
// This module imports nothing, so that the entry points (bin/kairos.js, the benchmark's child processes) can apply
// it before anything loads DuckDB. A value already in the environment is left as it is.

/** The jemalloc options Kairos runs DuckDB with. */
export const DUCKDB_ALLOCATOR_CONF = 'dirty_decay_ms:50,muzzy_decay_ms:0';

/** Sets DUCKDB_JE_MALLOC_CONF in `env` unless it is set already; returns `env`. */
export function tuneAllocator(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env['DUCKDB_JE_MALLOC_CONF'] === undefined) env['DUCKDB_JE_MALLOC_CONF'] = DUCKDB_ALLOCATOR_CONF;
  return env;
}
