// Browser sessions of the dashboard: an API key typed once at sign-in, then an HttpOnly, SameSite=Strict cookie; a CSRF token per session.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKey, Scope } from '../server/keys.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'kairos_session';

/** How long a session lasts from sign-in (8 hours: a working day), and how many the server keeps at most. */
export const SESSION_LIMITS = { seconds: 8 * 3600, max: 10_000 } as const;

/** A signed-in browser: the key it signed in with (its id and scope, never the key) and its CSRF token. */
export interface Session {
  readonly id: string;
  readonly keyId: string;
  /** The key's scope; read again from the store at every request (a key revoked or changed counts at once). */
  scope: Scope;
  readonly csrf: string;
  readonly expiresAt: number;
}

/**
 * The sessions of one server process, in memory: a restart signs everyone out, and no secret is ever written to
 * the store. Session ids and CSRF tokens are 32 random bytes.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new session for a key that was just checked. */
  create(key: ApiKey): Session {
    const t = this.now();
    for (const [id, s] of this.byId) if (s.expiresAt <= t) this.byId.delete(id);
    // The oldest go first when the table is full.
    while (this.byId.size >= SESSION_LIMITS.max) this.byId.delete(this.byId.keys().next().value as string);
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      keyId: key.keyId,
      scope: key.scope,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: t + SESSION_LIMITS.seconds * 1000,
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session of a cookie value, or undefined (unknown or expired). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.byId.get(id);
    if (s === undefined) return undefined;
    if (s.expiresAt <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** Ends every session of a key (revoked). */
  deleteKey(keyId: string): void {
    for (const [id, s] of this.byId) if (s.keyId === keyId) this.byId.delete(id);
  }
}

/** The cookies of a Cookie header, by name (the first of a name wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (!(name in out)) out[name] = part.slice(i + 1).trim();
  }
  return out;
}

/** The Set-Cookie value of a session (or, with null, the one that removes it). Secure when served over HTTPS. */
export function sessionCookie(session: Session | null, secure: boolean): string {
  const common = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return session === null ? `${SESSION_COOKIE}=; ${common}; Max-Age=0` : `${SESSION_COOKIE}=${session.id}; ${common}; Max-Age=${SESSION_LIMITS.seconds}`;
}

/** Whether a submitted CSRF token is the session's (constant time). */
export function csrfMatches(session: Session, token: unknown): boolean {
  if (typeof token !== 'string') return false;
  const a = Buffer.from(token);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
