// The marketer's dashboard, served by `kairos serve` beside the API (a ServerPlugin): sign-in with an API key, pages
// rendered on the server from stored summaries, the segment builder with its live count, downloads for activation.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asKairosError, HTTP_STATUSES, KairosError } from '../errors.js';
import { CRM_DEFAULT_COLUMNS, exportRows } from '../scores/export.js';
import { customerScoresFor } from '../scores/results.js';
import { compileSegmentFilter, countFilter, deleteSegment, getSegment, saveSegment } from '../segments/segments.js';
import type { ServerPlugin } from '../server/app.js';
import type { Store } from '../store/db.js';
import { allows, type Scope } from '../server/keys.js';
import { EXPORT_FORMATS, formatCount, type ExportFormat } from '../util/format.js';
import { DASHBOARD_CSS, DASHBOARD_JS } from './assets.js';
import { Html, html, page, type PageContext } from './html.js';
import { customerPage, customerSearchPage } from './pages/customer.js';
import { evaluationPage, evaluationReportHtml, evaluationsPage } from './pages/evaluations.js';
import { evolutionBody } from './pages/evolution.js';
import { overviewBody, RFM_COLUMNS } from './pages/overview.js';
import { cacheInputs, warmUp } from './aggregates.js';
import { exportableColumns, segmentPage, segmentsPage } from './pages/segments.js';
import { csrfMatches, parseCookies, SESSION_COOKIE, sessionCookie, Sessions, type Session } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in browser's session (dashboard routes that need one). */
    dashboardSession: Session | null;
  }
}

/** How a dashboard route is reached: the scope it needs (null: public), and whether it answers a page or JSON. */
interface DashboardRoute {
  readonly scope: Scope | null;
  readonly kind: 'page' | 'json';
}

/** Headers of every dashboard answer: nothing from elsewhere, no framing, no sniffing; pages not cached. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

/** Rendered page contents kept in memory at most (the oldest go first). */
const RENDERED_PAGES = 200;

const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = { csv: 'text/csv; charset=utf-8', json: 'application/x-ndjson; charset=utf-8', parquet: 'application/vnd.apache.parquet' };
const EXTENSIONS: Readonly<Record<ExportFormat, string>> = { csv: 'csv', json: 'ndjson', parquet: 'parquet' };

/** A path inside the dashboard to go back to after signing in (anything else: the overview). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/dashboard(\/[^\s\\]*)?(\?[^\s\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/dashboard';
}

/** One value of a form or query field (the first when repeated). */
function field(source: unknown, name: string): string | undefined {
  const v = (source as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

/** Every value of a repeated field. */
function fields(source: unknown, name: string): string[] {
  const v = (source as Record<string, unknown> | undefined)?.[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
}

/** A whole number from a query field, or undefined. */
function whole(source: unknown, name: string): number | undefined {
  const v = field(source, name);
  if (v === undefined || !/^\d{1,9}$/.test(v)) return undefined;
  return Number(v);
}

function loginPage(next: string, error?: string): string {
  return page(
    'Sign in',
    'login',
    null,
    html`<h1>Sign in</h1>
<p class="lead">Paste an API key (kairos keys create --scope read). The key is checked once; the browser then keeps a session cookie (HttpOnly, SameSite=Strict) for 8 hours, never the key.</p>
<form method="post" action="/dashboard/login">
<input type="hidden" name="next" value="${next}">
<label for="key">API key</label>
<input type="password" id="key" name="key" required autocomplete="off" spellcheck="false"${error ? html` aria-invalid="true" aria-describedby="login-error"` : ''}>
${error ? html`<p id="login-error" class="error-box" role="alert">${error}</p>` : ''}
<button type="submit">Sign in</button>
</form>
<p class="small muted">Read keys see the pages; write keys also save and delete segments; admin keys also see personal fields (email and the configured personalFields).</p>`,
  );
}

/** The dashboard's routes on the server's app (docs/dashboard.md). */
export const dashboardPlugin: ServerPlugin = async (app, ctx) => {
  const sessions = new Sessions();
  const currency = ctx.config.currency;
  const pageContext = (session: Session): PageContext => ({ session, currency, registry: ctx.registry, config: ctx.config, version: ctx.version, ...(ctx.serving === undefined ? {} : { serving: ctx.serving }) });

  app.decorateRequest('dashboardSession', null);
  // Once listening, the aggregates of the latest run are computed in the background (if not kept yet), one statement
  // sequence on the store like any request: the first person to open the dashboard does not wait for them. After the
  // serving snapshot, when the server makes one at start: at 1M customers the two at once went over kairos serve's
  // 1 GB memory limit, and the aggregates failed with "Out of Memory" at every such start.
  app.addHook('onReady', async () => {
    void (async () => {
      await ctx.serving?.idle();
      return ctx.db((store) => warmUp(store, ctx.config, () => customerScoresFor(store, ctx.registry, RFM_COLUMNS)));
    })()
      .then((done) => {
        if (done.length > 0) app.log.info({ computed: done }, 'dashboard aggregates computed');
      })
      .catch((err: unknown) => app.log.error({ err }, 'dashboard aggregates could not be computed'));
  });
  // HTML forms post URL-encoded fields; repeated names become arrays.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const had = out[k];
      out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    done(null, out);
  });

  const sendPage = (reply: FastifyReply, body: string, status = 200): FastifyReply =>
    reply.status(status).headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).type('text/html; charset=utf-8').send(body);

  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    const e =
      err instanceof KairosError
        ? err
        : status === 413
          ? new KairosError('TOO_LARGE', (err as Error).message)
          : status !== undefined && status >= 400 && status < 500
            ? new KairosError('VALIDATION', (err as Error).message)
            : asKairosError(err);
    const internal = e.code === 'INTERNAL' || e.code === 'STORE';
    if (internal) req.log.error({ err }, 'dashboard request failed');
    const message = internal ? `internal error (request ${req.id}); the server log has the details` : e.message;
    const kind = (req.routeOptions.config as { dashboard?: DashboardRoute }).dashboard?.kind ?? 'page';
    if (kind === 'json') {
      void reply.status(HTTP_STATUSES[e.code]).headers(SECURITY_HEADERS).send({ error: { code: e.code, message, ...(e.hint && !internal ? { hint: e.hint } : {}) } });
      return;
    }
    const session = req.dashboardSession;
    const body = html`<h1>${e.code === 'NOT_FOUND' ? 'Not found' : e.code === 'FORBIDDEN' ? 'Not allowed' : 'Something went wrong'}</h1>
<p class="error-box" role="alert">${message}${e.hint && !internal ? `\nhint: ${e.hint}` : ''}</p><p><a href="/dashboard">Back to the overview</a></p>`;
    void sendPage(reply, page('Error', '', session ? pageContext(session) : null, body), HTTP_STATUSES[e.code]);
  });

  // Sessions: the cookie's session, its key still valid (checked at every request through the server's key rows, read
  // again after any key changes in this process: a revocation counts at once, and a page costs no query for it).
  app.addHook('onRequest', async (req, reply) => {
    const route = (req.routeOptions.config as { dashboard?: DashboardRoute }).dashboard;
    if (route === undefined || route.scope === null) return;
    const session = sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    let valid = session;
    if (session !== undefined) {
      const key = await ctx.keys.row(session.keyId);
      if (!key || key.revoked_at !== null) {
        sessions.deleteKey(session.keyId);
        valid = undefined;
      } else session.scope = key.scope;
    }
    if (valid === undefined) {
      if (route.kind === 'json' || req.method !== 'GET') throw new KairosError('UNAUTHORIZED', 'sign in first', { hint: 'open /dashboard/login' });
      await reply.redirect(`/dashboard/login?next=${encodeURIComponent(req.url)}`, 303);
      return reply;
    }
    req.dashboardSession = valid;
    // The rate limit and the request log count per key, as for the API.
    req.apiKey = { keyId: valid.keyId, scope: valid.scope, name: null, createdAt: '', revokedAt: null };
    if (!allows(valid.scope, route.scope)) throw new KairosError('FORBIDDEN', `this needs a key of scope ${route.scope} (you signed in with a ${valid.scope} key)`);
    if (req.method === 'POST') {
      // Cross-site requests: SameSite=Strict keeps the cookie off them; the CSRF token and the origin check are the second lock.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host ?? ''}`) throw new KairosError('FORBIDDEN', 'this form was sent from another site');
    }
  });

  const checkCsrf = (req: FastifyRequest): void => {
    if (!csrfMatches(req.dashboardSession as Session, field(req.body, '_csrf'))) throw new KairosError('FORBIDDEN', 'the form has expired or did not come from this dashboard', { hint: 'reload the page and send it again' });
  };

  /** A filter compiled for the signed-in key: personal fields are not filterable without admin (a count would reveal them). */
  const compileFor = async (store: Store, filter: string, s: Session) => {
    const compiled = await compileSegmentFilter(store, filter);
    const personal = compiled.columns.filter((c) => ctx.config.personalFields.includes(c));
    if (personal.length > 0 && !allows(s.scope, 'admin')) {
      throw new KairosError('FORBIDDEN', `filter: ${personal.join(', ')} is a personal field: filtering on it needs an admin key`);
    }
    return compiled;
  };

  const route = (scope: Scope | null, kind: 'page' | 'json' = 'page') => ({ config: { dashboard: { scope, kind } satisfies DashboardRoute } });
  const session = (req: FastifyRequest): Session => req.dashboardSession as Session;
  const db = ctx.db;

  app.get('/', route(null), async (_req, reply) => reply.redirect('/dashboard', 302));
  app.get('/dashboard/assets/dashboard.css', route(null), async (_req, reply) =>
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=300' }).type('text/css; charset=utf-8').send(DASHBOARD_CSS),
  );
  app.get('/dashboard/assets/dashboard.js', route(null), async (_req, reply) =>
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=300' }).type('text/javascript; charset=utf-8').send(DASHBOARD_JS),
  );

  app.get('/dashboard/login', route(null), async (req, reply) => {
    const next = safeNext(field(req.query, 'next'));
    if (sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE])) return reply.redirect(next, 303);
    return sendPage(reply, loginPage(next));
  });
  app.post('/dashboard/login', route(null), async (req, reply) => {
    const next = safeNext(field(req.body, 'next'));
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host ?? ''}`) throw new KairosError('FORBIDDEN', 'this form was sent from another site');
    const key = field(req.body, 'key')?.trim() ?? '';
    try {
      const checked = await ctx.keys.check(key);
      const s = sessions.create(checked);
      return reply.header('set-cookie', sessionCookie(s, req.protocol === 'https')).redirect(next, 303);
    } catch (err) {
      if (!(err instanceof KairosError) || err.code !== 'UNAUTHORIZED') throw err;
      return sendPage(reply, loginPage(next, 'This key is not valid (or was revoked).'), 401);
    }
  });
  app.post('/dashboard/logout', route('read'), async (req, reply) => {
    checkCsrf(req);
    sessions.delete(session(req).id);
    return reply.header('set-cookie', sessionCookie(null, req.protocol === 'https')).redirect('/dashboard/login', 303);
  });

  /**
   * The overview's and evolution's content, rendered once per query and store state (cacheInputs: the last ingest,
   * the erasures, the runs; and the saved segments) and kept in memory: their charts cost more to draw than their few stored rows cost to read.
   * Neither holds anything a key's scope changes, so they are shared by every session.
   */
  const rendered = new Map<string, string>();
  const renderOnce = (name: string, req: FastifyRequest, make: (store: Store) => Promise<Html>): Promise<string> =>
    db(async (store) => {
      // The saved segments too: the evolution page draws their sizes.
      const segments = await store.value<string | null>('SELECT string_agg(name, chr(31) ORDER BY name) FROM segments');
      const key = `${name} ${JSON.stringify(req.query)} ${await cacheInputs(store)} ${segments ?? ''}`;
      const kept = rendered.get(key);
      if (kept !== undefined) return kept;
      const body = (await make(store)).text;
      if (rendered.size >= RENDERED_PAGES) rendered.delete(rendered.keys().next().value as string);
      rendered.set(key, body);
      return body;
    });
  app.get('/dashboard', route('read'), async (req, reply) => {
    const ctxPage = pageContext(session(req));
    const body = await renderOnce('overview', req, (store) => overviewBody(store, ctxPage));
    return sendPage(reply, page('Overview', 'overview', ctxPage, new Html(body)));
  });
  app.get('/dashboard/evolution', route('read'), async (req, reply) => {
    const q = { score: field(req.query, 'score'), category: field(req.query, 'category'), run: whole(req.query, 'run'), accuracyRun: whole(req.query, 'accuracy_run') };
    const ctxPage = pageContext(session(req));
    const body = await renderOnce('evolution', req, (store) => evolutionBody(store, ctxPage, q));
    return sendPage(reply, page('Evolution', 'evolution', ctxPage, new Html(body)));
  });
  app.get('/dashboard/customers', route('read'), async (req, reply) => {
    const id = field(req.query, 'id')?.trim();
    if (id) return reply.redirect(`/dashboard/customers/${encodeURIComponent(id)}`, 303);
    return sendPage(reply, customerSearchPage(pageContext(session(req))));
  });
  app.get('/dashboard/customers/:id', route('read'), async (req, reply) => {
    const { id } = req.params as { id: string };
    return sendPage(reply, await db((store) => customerPage(store, pageContext(session(req)), id)));
  });

  app.get('/dashboard/segments', route('read'), async (req, reply) => sendPage(reply, await db((store) => segmentsPage(store, pageContext(session(req))))));
  app.post('/dashboard/segments', route('write'), async (req, reply) => {
    checkCsrf(req);
    const form = { name: field(req.body, 'name')?.trim() ?? '', filter: field(req.body, 'filter') ?? '', description: field(req.body, 'description')?.trim() ?? '' };
    try {
      const { segment } = await db(async (store) => {
        await compileFor(store, form.filter, session(req));
        return saveSegment(store, { name: form.name, filter: form.filter, description: form.description || null });
      });
      return reply.redirect(`/dashboard/segments/${encodeURIComponent(segment.name)}`, 303);
    } catch (err) {
      if (!(err instanceof KairosError) || err.code !== 'USAGE') throw err;
      const message = `${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`;
      return sendPage(reply, await db((store) => segmentsPage(store, pageContext(session(req)), form, message)), 400);
    }
  });
  app.get('/dashboard/segments/:name', route('read'), async (req, reply) => {
    const { name } = req.params as { name: string };
    return sendPage(reply, await db((store) => segmentPage(store, pageContext(session(req)), name)));
  });
  app.post('/dashboard/segments/:name/delete', route('write'), async (req, reply) => {
    checkCsrf(req);
    const { name } = req.params as { name: string };
    await db((store) => deleteSegment(store, name));
    return reply.redirect('/dashboard/segments', 303);
  });
  app.get('/dashboard/segments/:name/export', route('read'), async (req, reply) => {
    const { name } = req.params as { name: string };
    const format = (field(req.query, 'format') ?? 'csv') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new KairosError('VALIDATION', `invalid format "${format}" (expected one of ${EXPORT_FORMATS.join(', ')})`);
    const crm = (field(req.query, 'shape') ?? 'crm') === 'crm';
    const chosen = fields(req.query, 'columns');
    const ctxPage = pageContext(session(req));
    const scratch = mkdtempSync(join(tmpdir(), 'kairos-dashboard-export-'));
    const file = join(scratch, `export.${EXTENSIONS[format]}`);
    try {
      const result = await db(async (store) => {
        await getSegment(store, name);
        const allowed = await exportableColumns(store, ctxPage);
        // Personal fields only for the scopes that may see them, as in the API.
        const refused = chosen.filter((c) => !allowed.includes(c));
        if (refused.length > 0) throw new KairosError('FORBIDDEN', `column(s) ${refused.join(', ')} cannot be exported with this key (personal fields need admin) or do not exist`);
        const columns = chosen.length > 0 ? chosen : crm ? CRM_DEFAULT_COLUMNS.filter((c) => allowed.includes(c)) : allowed;
        return exportRows(store, { format, file, registry: ctx.registry, columns, savedSegment: name, crm });
      });
      const safe = name.replace(/[^A-Za-z0-9_-]+/g, '_');
      const stream = createReadStream(file);
      stream.on('close', () => rmSync(scratch, { recursive: true, force: true }));
      return reply
        .headers({
          ...SECURITY_HEADERS,
          'cache-control': 'no-store',
          'content-disposition': `attachment; filename="segment_${safe}${crm ? '_crm' : ''}.${EXTENSIONS[format]}"`,
          'x-kairos-rows': String(result.rows),
        })
        .type(CONTENT_TYPES[format])
        .send(stream);
    } catch (err) {
      rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
  });
  app.get('/dashboard/api/count', route('read', 'json'), async (req, reply) => {
    const filter = field(req.query, 'filter') ?? '';
    if (filter.trim() === '') throw new KairosError('VALIDATION', 'give a filter');
    const customers = await db(async (store) => {
      const compiled = await compileFor(store, filter, session(req));
      return countFilter(store, compiled, await customerScoresFor(store, ctx.registry, compiled.columns));
    });
    return reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).send({ customers, customersText: formatCount(customers) });
  });

  app.get('/dashboard/evaluations', route('read'), async (req, reply) => sendPage(reply, await db((store) => evaluationsPage(store, pageContext(session(req))))));
  app.get('/dashboard/evaluations/:id', route('read'), async (req, reply) => {
    const id = whole(req.params, 'id');
    if (id === undefined) throw new KairosError('NOT_FOUND', 'no such evaluation');
    return sendPage(reply, await db((store) => evaluationPage(store, pageContext(session(req)), id)));
  });
  app.get('/dashboard/evaluations/:id/report', route('read'), async (req, reply) => {
    const id = whole(req.params, 'id');
    if (id === undefined) throw new KairosError('NOT_FOUND', 'no such evaluation');
    // A kept report never changes (an id is never reused while the process runs: ids only grow).
    return sendPage(reply, await renderOnce(`report ${id}`, req, async (store) => new Html(await evaluationReportHtml(store, id))));
  });
  app.get('/dashboard/*', route('read'), async (req) => {
    throw new KairosError('NOT_FOUND', `no dashboard page ${req.url.split('?')[0] ?? ''}`, { hint: 'the navigation lists the pages' });
  });
};
