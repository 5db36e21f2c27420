// API keys: made once and shown once, stored as a salted scrypt hash, checked in constant time, revoked by id.
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';

/** What a key may do; each scope includes the ones before it (read < write < admin). */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Whether a key of scope `has` may do what needs `needs`. */
export function allows(has: Scope, needs: Scope): boolean {
  return SCOPES.indexOf(has) >= SCOPES.indexOf(needs);
}

/** scrypt's cost (N = 2^14, r = 8, p = 1: the parameters RFC 7914 and OWASP give for interactive logins; 16 MiB). */
const SCRYPT: ScryptOptions = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HASH_BYTES = 32;

/** A key as the client sends it: `kairos_<key id>_<secret>`; the id finds the row, the secret is what is hashed. */
const KEY_FORMAT = /^kairos_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A stored key, without its hash. */
export interface ApiKey {
  readonly keyId: string;
  readonly name: string | null;
  readonly scope: Scope;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

function scrypt(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((done, fail) => scryptCallback(secret, salt, HASH_BYTES, SCRYPT, (err, key) => (err ? fail(err) : done(key))));
}

/** Checks a scope given on the command line or in a request. */
export function parseScope(text: string): Scope {
  if (!(SCOPES as readonly string[]).includes(text)) throw new KairosError('USAGE', `invalid scope "${text}" (expected one of ${SCOPES.join(', ')})`);
  return text as Scope;
}

/**
 * Counts the changes to keys made in this process (createKey, revokeKey): a KeyChecker reads a key's row again after
 * one. No other process can change them meanwhile: a served store is held by its server alone (DuckDB's lock).
 */
let keyChanges = 0;

/** Makes a key of `scope`, stores its hash and returns the key itself: the only time it is ever seen. */
export async function createKey(store: Store, scope: Scope, name?: string): Promise<{ key: string } & ApiKey> {
  parseScope(scope);
  const keyId = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt);
  await store.run('INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, NULL)', [keyId, name ?? null, scope, salt.toString('base64'), hash.toString('base64')]);
  keyChanges++;
  const created = (await listKeys(store)).find((k) => k.keyId === keyId) as ApiKey;
  return { key: `kairos_${keyId}_${secret}`, ...created };
}

/** Every key, newest first, without hashes. */
export async function listKeys(store: Store): Promise<ApiKey[]> {
  const rows = await store.all<{ key_id: string; name: string | null; scope: Scope; created_at: string; revoked_at: string | null }>(
    'SELECT key_id, name, scope, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, key_id',
  );
  return rows.map((r) => ({ keyId: r.key_id, name: r.name, scope: r.scope, createdAt: r.created_at, revokedAt: r.revoked_at }));
}

/** Revokes a key by id: it is refused from then on. NOT_FOUND for an unknown id; revoking twice keeps the first date. */
export async function revokeKey(store: Store, keyId: string): Promise<ApiKey> {
  const known = (await listKeys(store)).find((k) => k.keyId === keyId);
  if (!known) throw new KairosError('NOT_FOUND', `no API key ${keyId}`, { hint: 'kairos keys list shows the ids' });
  await store.run('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()::TIMESTAMP) WHERE key_id = ?', [keyId]);
  keyChanges++;
  return (await listKeys(store)).find((k) => k.keyId === keyId) as ApiKey;
}

export type KeyRow = { scope: Scope; name: string | null; salt: string; hash: string; created_at: string; revoked_at: string | null };

/**
 * Checks keys against the store. scrypt costs tens of milliseconds by design: a key that passed once is remembered
 * (its SHA-256, compared in constant time). Its row is remembered too until a key changes in this process (keyChanges):
 * revocation is immediate, and a request costs no query (one per request was a third of a look-up's time at 500/s).
 */
export class KeyChecker {
  private readonly verified = new Map<string, Buffer>();
  /** Verifications in flight, by the token's SHA-256. */
  private readonly verifying = new Map<string, Promise<boolean>>();
  private rows = new Map<string, KeyRow | undefined>();
  private rowsAt = keyChanges;

  /** `db` runs a function on the store, one at a time (the server's store has one connection). */
  constructor(private readonly db: <T>(fn: (store: Store) => Promise<T>) => Promise<T>) {}

  /** The key's record when `token` is a valid, unrevoked key; UNAUTHORIZED otherwise (one message for every case). */
  async check(token: string): Promise<ApiKey> {
    // Made when needed (an error captures its stack: a tenth of a look-up's time if made at every request).
    const refused = (): KairosError => new KairosError('UNAUTHORIZED', 'invalid or revoked API key', { hint: 'send Authorization: Bearer <key> (kairos keys create makes one)' });
    const m = KEY_FORMAT.exec(token);
    if (!m) throw refused();
    const [, keyId, secret] = m as unknown as [string, string, string];
    const row = await this.row(keyId);
    if (!row || row.revoked_at !== null) throw refused();
    const digest = createHash('sha256').update(token).digest();
    const known = this.verified.get(keyId);
    if (known === undefined) {
      // One scrypt per token however many of its first requests arrive at once (ten connections opened with a new key
      // ran ten scrypts on 2 cores: their answers took 0.6-1.6 s, docs/benchmarks.md).
      const id = digest.toString('hex');
      let pending = this.verifying.get(id);
      if (pending === undefined) {
        const salt = Buffer.from(row.salt, 'base64');
        const stored = Buffer.from(row.hash, 'base64');
        pending = scrypt(secret, salt).then((hash) => timingSafeEqual(hash, stored));
        this.verifying.set(id, pending);
        void pending.finally(() => this.verifying.delete(id)).catch(() => {});
      }
      if (!(await pending)) throw refused();
      this.verified.set(keyId, digest);
    } else if (!timingSafeEqual(known, digest)) throw refused();
    return { keyId, name: row.name, scope: row.scope, createdAt: row.created_at, revokedAt: null };
  }

  /** The key's row (revoked or not), undefined for an unknown id; read once until a key changes in this process. */
  async row(keyId: string): Promise<KeyRow | undefined> {
    if (this.rowsAt !== keyChanges) {
      this.rows = new Map();
      this.rowsAt = keyChanges;
    }
    let row = this.rows.get(keyId);
    if (row === undefined) {
      const seen = keyChanges;
      row = await this.db((store) => store.one<KeyRow>('SELECT scope, name, salt, hash, created_at, revoked_at FROM api_keys WHERE key_id = ?', [keyId]));
      // Only ids that exist are remembered (a flood of made-up ids is not kept), and only if no key changed meanwhile.
      if (row !== undefined && seen === keyChanges) this.rows.set(keyId, row);
    }
    return row;
  }
}
