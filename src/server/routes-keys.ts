// API keys through the API (admin): list, create (the key shown once), revoke. While the server holds the store, this
// is how keys change without stopping it: `kairos keys` goes through these routes with the server's local token.
import { z } from 'zod';
import { createKey, listKeys, revokeKey, SCOPES } from './keys.js';
import type { RouteSpec } from './routes.js';

const ApiKeyOut = z.object({
  keyId: z.string(),
  name: z.string().nullable(),
  scope: z.enum(SCOPES),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const KeyParams = z.object({ id: z.string().min(1).max(64).describe("the key's id (kairos keys list, GET /keys)") });

export const KeyBody = z.strictObject({
  scope: z.enum(SCOPES).describe('read (GET routes), write (read + ingest and runs), admin (everything, personal fields, erasure)'),
  name: z.string().min(1).max(200).optional().describe('what the key is for, e.g. "crm sync"'),
});

export function keyRoutes(): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/keys',
      operationId: 'listKeys',
      summary: 'the API keys, newest first: id, name, scope, created, revoked (never the keys, which are stored hashed)',
      scope: 'admin',
      localToken: true,
      response: z.object({ keys: z.array(ApiKeyOut) }),
      handler: async ({ db }) => ({ keys: await db((store) => listKeys(store)) }),
    },
    {
      method: 'POST',
      path: '/keys',
      operationId: 'createKey',
      summary: 'make an API key: the answer holds the key, the only time it is shown (only its scrypt hash is stored)',
      scope: 'admin',
      localToken: true,
      body: KeyBody,
      status: 201,
      response: ApiKeyOut.extend({ key: z.string().describe('Authorization: Bearer KEY; not shown again') }),
      handler: async ({ body, db }) => {
        const b = body as z.output<typeof KeyBody>;
        return db((store) => createKey(store, b.scope, b.name));
      },
    },
    {
      method: 'DELETE',
      path: '/keys/{id}',
      operationId: 'revokeKey',
      summary: 'revoke an API key: refused from the next request on (404 NOT_FOUND for an unknown id; revoking twice keeps the first date)',
      scope: 'admin',
      localToken: true,
      params: KeyParams,
      response: ApiKeyOut,
      handler: async ({ params, db }) => {
        const { id } = params as z.output<typeof KeyParams>;
        return db((store) => revokeKey(store, id));
      },
    },
  ];
}
