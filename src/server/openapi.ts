// The OpenAPI 3.1 document of the API, written from the route table: the zod schemas that validate requests describe them here.
import { z } from 'zod';
import { ErrorBody } from './schemas.js';
import type { RouteSpec } from './routes.js';

type JsonSchema = Record<string, unknown>;

/** A zod schema as OpenAPI 3.1's JSON Schema (draft 2020-12, without the $schema line). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** The parameters of a zod object for `in` (path or query). */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (schema === undefined) return [];
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => {
    const { description, ...rest } = p;
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

/** The document for `routes`: every path and method, its parameters, body, answers and the scope it needs. */
export function openApiDocument(routes: readonly RouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const error = { description: 'an error: a stable code and a message (never a stack trace)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  for (const r of routes) {
    const operation: JsonSchema = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description === undefined ? {} : { description: r.description }),
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: Object.fromEntries(Object.entries(r.bodyContent ?? { 'application/json': r.body }).map(([type, schema]) => [type, { schema: jsonSchema(schema, 'input') }])),
            },
          }),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'success',
          content: Object.fromEntries(Object.entries(r.responseContent ?? { 'application/json': r.response }).map(([type, schema]) => [type, { schema: jsonSchema(schema, 'output') }])),
        },
        default: error,
      },
      ...(r.scope === null ? { security: [] } : { security: [{ apiKey: [] }], 'x-kairos-scope': r.scope }),
    };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kairos API',
      version,
      description: 'Predictive customer scores served from a Kairos store (kairos serve). Scopes: read < write < admin; personal fields only to admin keys.',
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorBody, 'output') },
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an API key from `kairos keys create`' } },
    },
    security: [{ apiKey: [] }],
  };
}
