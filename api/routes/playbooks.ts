import type { Request } from 'express';
import { z } from 'zod';
import { auditAdmin } from '../../activities/audit';
import { listPlaybooks, playbookVersion, publishPlaybook } from '../../db/playbooks';
import { Playbook } from '../../shared/playbook';
import { PLAYBOOK_ID } from '../../shared/playbook-file';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';

/** A playbook file is small: a ladder of a few dozen steps is a few KiB. */
const MAX_PLAYBOOK_BYTES = 256 * 1024;
const YAML_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml', 'text/x-yaml'];
const JSON_TYPES = ['application/json'];

const VersionParams = z
  .object({
    id: z.string().regex(PLAYBOOK_ID, 'a playbook id: lower-case letters, digits and dashes'),
    version: z.coerce.number().int().positive().max(2_147_483_647),
  })
  .strict();
const VersionQuery = z
  .object({
    /** `source`: the file as published (YAML or JSON, comments and all) instead of the playbook as a case gets it. */
    format: z.enum(['json', 'source']).default('json'),
  })
  .strict();

const PlaybookVersionView = z.object({
  id: z.string(),
  version: z.number(),
  name: z.string(),
  /** Built in (playbooks/*.yaml, shipped with the engine) or published through this API. */
  builtIn: z.boolean(),
  /** SHA-256 of the file's text. */
  sha256: z.string().nullable(),
  publishedBy: z.string().nullable(),
  publishedAt: z.string().nullable(),
});
const PlaybookList = z.object({
  playbooks: z.array(
    z.object({
      id: z.string(),
      /** The latest version's name. */
      name: z.string(),
      /** The version a new case started with this id gets. */
      latest: z.number(),
      versions: z.array(PlaybookVersionView),
    }),
  ),
});

/** The request's body as UTF-8 text, at most MAX_PLAYBOOK_BYTES. */
async function bodyText(req: Request): Promise<string> {
  const tooLarge = () => new HttpProblem(413, 'Body too large', `a playbook file is at most ${MAX_PLAYBOOK_BYTES / 1024} KiB`);
  if (Number(req.get('content-length') ?? 0) > MAX_PLAYBOOK_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PLAYBOOK_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new HttpProblem(422, 'Invalid playbook', 'the file is not UTF-8 text', {
      issues: [{ line: 1, column: 1, path: '', message: 'not UTF-8 text' }],
    });
  }
}

/**
 * Playbooks as authored data (issue 16, part 1; docs/playbooks.md): a file published once per version,
 * never changed, and listed beside the built-in versions. Intake starts a new case with the latest
 * version of its playbook id (db/playbooks.ts findPlaybook); a running case keeps the one it started with.
 */
export function playbookRoutes(d: ApiDeps) {
  const readers = { roles: ['admin', 'supervisor', 'manager'] } as const;
  return [
    route({
      method: 'post',
      path: '/v1/playbooks',
      tag: 'playbooks',
      summary:
        'Publish a playbook file: the body is the file itself, YAML (application/yaml or text/yaml) or JSON (application/json), ' +
        'as `recoup playbook publish` sends it. Validated with line-accurate issues; its version must be above every version ' +
        'of its id (built-in or published); the very same text again answers 200 with that version. Audited.',
      access: { roles: ['admin'] },
      streamedBody: [...YAML_TYPES, ...JSON_TYPES],
      responses: {
        201: { description: 'Published: new cases of this id start with it', schema: PlaybookVersionView },
        200: {
          description: 'This very text is that version already (published before, or a built-in file): nothing written',
          schema: PlaybookVersionView,
        },
        409: { description: 'The version is not above the latest version of the id (named in `latest`): publish a higher one' },
        413: { description: `Larger than ${MAX_PLAYBOOK_BYTES / 1024} KiB` },
        415: { description: 'Neither YAML nor JSON' },
        422: {
          description:
            'Not a valid playbook: `issues`, each with its `line` and `column` (1-based), the field (`path`, e.g. steps[3].window.from) ' +
            'and a `message`; nothing written',
        },
      },
      async handler({ req, principal }) {
        const text = await bodyText(req);
        const fileName = req.is(JSON_TYPES) ? 'playbook.json' : 'playbook.yaml';
        const r = await d.sql.begin(async (tx) => {
          const out = await publishPlaybook(tx, { text, fileName, publishedBy: principal!.subject });
          if (out.outcome === 'published') {
            const v = out.version;
            await auditAdmin(
              tx,
              principal!.subject,
              'playbook-published',
              { playbookId: v.id, version: v.version, name: v.name, sha256: v.sha256 },
              v.publishedAt!,
            );
          }
          return out;
        });
        switch (r.outcome) {
          case 'invalid':
            throw new HttpProblem(422, 'Invalid playbook', `${r.issues.length} issue(s) in the file: nothing was published`, {
              issues: r.issues,
            });
          case 'not-above': {
            const { latest } = r;
            const how = latest.builtIn ? 'built in' : 'published';
            throw new HttpProblem(
              409,
              'Version not above the latest',
              `${r.id} v${r.version}: the latest version of ${r.id} is v${latest.version} (${how}), ` +
                `and a version is never changed: publish v${latest.version + 1} or higher`,
              { latest },
            );
          }
          case 'unchanged':
            return { status: 200, body: r.version };
          case 'published':
            return { status: 201, body: r.version };
        }
      },
    }),
    route({
      method: 'get',
      path: '/v1/playbooks',
      tag: 'playbooks',
      summary: 'Every playbook id with its versions, built in and published; `latest` is the version a new case gets',
      access: readers,
      responses: { 200: { description: 'Playbooks', schema: PlaybookList } },
      async handler() {
        return { status: 200, body: { playbooks: await listPlaybooks(d.sql) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/playbooks/:id/versions/:version',
      tag: 'playbooks',
      summary:
        'One version: the playbook as a case starts with it (every default filled in), or with `?format=source` the file ' +
        'as published (YAML or JSON, with its comments)',
      access: readers,
      params: VersionParams,
      query: VersionQuery,
      responses: {
        200: { description: 'The playbook (or its file, `format=source`)', schema: Playbook, text: ['application/yaml'] },
        404: { description: 'No such version (or, for the file of a built-in version, not in this installation)' },
      },
      async handler({ params, query }) {
        const found = await playbookVersion(d.sql, params.id, params.version);
        if (!found) throw new HttpProblem(404, 'Not found', `no playbook ${params.id} v${params.version}, built in or published`);
        if (query.format === 'json') return { status: 200, body: found.playbook };
        if (found.source === undefined) throw new HttpProblem(404, 'Not found', `the file of ${params.id} v${params.version} is not here`);
        const json = /^\s*[{[]/.test(found.source.replace(/^\uFEFF/, ''));
        return { status: 200, body: found.source, contentType: `${json ? 'application/json' : 'application/yaml'}; charset=utf-8` };
      },
    }),
  ];
}
