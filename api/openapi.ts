import { z } from 'zod';
import type { RouteDef } from './registry';

type Json = Record<string, unknown>;

/** A zod schema as an OpenAPI 3.1 (JSON Schema 2020-12) schema. */
function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete json.$schema;
  return json;
}

/** Path and query parameters from a zod object, one OpenAPI parameter per key. */
function parametersOf(s: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!s) return [];
  const json = schemaOf(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema,
  }));
}

const PROBLEM = {
  type: 'object',
  description: 'RFC 9457 problem details; a 400 carries zod field-level issues',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } },
        required: ['path', 'message'],
      },
    },
  },
  required: ['title', 'status'],
};

/** The OpenAPI 3.1 document of the API, generated from the route table and its zod schemas. */
export function openApiDocument(routes: readonly RouteDef[], serverUrl?: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, Json> = {};
    for (const [code, res] of Object.entries(r.responses)) {
      const isProblem = Number(code) >= 400;
      responses[code] = {
        description: res.description,
        content: res.schema
          ? {
              'application/json': { schema: schemaOf(res.schema, 'output') },
              ...Object.fromEntries((res.text ?? []).map((t) => [t, { schema: { type: 'string' } }])),
            }
          : isProblem
            ? { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }
            : undefined,
      };
      if (!responses[code]!.content) delete responses[code]!.content;
    }
    if ((r.params || r.query || r.body) && !responses['400']) {
      responses['400'] = {
        description: 'Invalid request (field-level issues)',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    if (r.access !== 'public') {
      responses['401'] ??= {
        description: r.access === 'signature' ? 'Missing, wrong or stale signature' : 'Missing or unknown API key',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    if (typeof r.access === 'object') {
      responses['403'] ??= {
        description: `Only for ${r.access.roles.join(', ')} (and admin)`,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    responses.default = {
      description: 'Error',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
    const op: Json = {
      operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[/-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      security: r.access === 'public' ? [] : r.access === 'signature' ? [{ webhookSignature: [] }] : [{ apiKey: [] }],
      ...(typeof r.access === 'object' ? { 'x-roles': [...r.access.roles] } : {}),
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      ...(r.streamedBody
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(r.streamedBody.map((t) => [t, { schema: { type: 'string' } }])),
            },
          }
        : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
      responses,
    };
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Recoup API',
      version: '1.0.0',
      description:
        'Debt-collection cases on Temporal: missed payments in, signed payment webhooks, ' +
        'case actions for collectors, field officers, supervisors and legal. Money is always an integer count of minor units.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer rk_…' },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Recoup-Signature',
          description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, 5-minute tolerance',
        },
      },
      schemas: { Problem: PROBLEM },
    },
  };
}
