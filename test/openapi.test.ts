import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../api/app';
import type { RouteDef } from '../api/registry';
import { getJson, startStack, type Stack } from './helpers';

/** The OpenAPI document the running app serves: valid 3.1, complete, and honest about security. */
let stack: Stack;
let doc: Doc;
let routes: RouteDef[];

interface Operation {
  operationId: string;
  security: Array<Record<string, string[]>>;
  parameters: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

const oaPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

beforeAll(async () => {
  stack = await startStack();
  routes = allRoutes({ client: stack.client, sql: stack.sql, taskQueue: stack.taskQueue });
  const r = await getJson(`${stack.apiUrl}/v1/openapi.json`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  doc = r.body as Doc;
});
afterAll(async () => {
  await stack?.stop();
});

describe('GET /v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lists every route of the route table, and nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const table = routes.map((r) => `${r.method.toUpperCase()} ${oaPath(r.path)}`);
    expect(new Set(table).size).toBe(table.length);
    expect(documented.sort()).toEqual([...table].sort());
    const ids = documented.map((d) => doc.paths[d.split(' ')[1]!]![d.split(' ')[0]!.toLowerCase()]!.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('declares security and a 401 on every route that is not public, and a 403 where roles apply', () => {
    for (const r of routes) {
      const op = doc.paths[oaPath(r.path)]![r.method]!;
      const where = `${r.method.toUpperCase()} ${r.path}`;
      if (r.access === 'public') {
        expect(op.security, where).toEqual([]);
        expect(op.responses['401'], where).toBeUndefined();
        continue;
      }
      expect(op.security.length, where).toBeGreaterThan(0);
      for (const requirement of op.security)
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes, where).toHaveProperty(scheme);
      expect(op.security, where).toEqual(r.access === 'signature' ? [{ webhookSignature: [] }] : [{ apiKey: [] }]);
      expect(op.responses['401'], where).toBeDefined();
      if (typeof r.access === 'object') expect(op.responses['403'], where).toBeDefined();
    }
  });

  it('declares each path parameter, each request body, and a problem document for errors', () => {
    for (const r of routes) {
      const op = doc.paths[oaPath(r.path)]![r.method]!;
      const where = `${r.method.toUpperCase()} ${r.path}`;
      const inPath = [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect(
        op.parameters.filter((p) => p.in === 'path').map((p) => p.name),
        where,
      ).toEqual(inPath);
      for (const p of op.parameters.filter((x) => x.in === 'path')) expect(p.required, where).toBe(true);
      if (r.body) expect(op.requestBody?.content['application/json']?.schema, where).toBeDefined();
      else if (r.streamedBody) expect(Object.keys(op.requestBody?.content ?? {}), where).toEqual([...r.streamedBody]);
      else expect(op.requestBody, where).toBeUndefined();
      if (r.params || r.query || r.body) expect(op.responses['400'], where).toBeDefined();
      for (const [code, res] of Object.entries(op.responses)) {
        // An error is a problem document, unless the route gives that status a body of its own (readyz's 503).
        const own = code !== 'default' && r.responses[Number(code)]?.schema;
        if (code === 'default' || Number(code) >= 400)
          expect(Object.keys(res.content ?? {}), `${where} ${code}`).toEqual([own ? 'application/json' : 'application/problem+json']);
      }
      expect(
        Object.keys(op.responses).some((c) => /^2\d\d$/.test(c)),
        where,
      ).toBe(true);
    }
    expect(doc.components.schemas).toHaveProperty('Problem');
  });
});

describe('GET /v1/docs/', () => {
  it('answers 200 with the Swagger UI page', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/docs/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<html/i);
    expect(html).toContain('Recoup API');
  });
});
