// Where the store lives by default: importable without loading DuckDB (the CLI's start-up reads it).

/** Default path of the store file. */
export const DEFAULT_DB_PATH = 'kairos.duckdb';
