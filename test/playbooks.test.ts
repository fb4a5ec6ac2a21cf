import { createHash, randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerPlaybookCommands } from '../cli/playbook';
import { findPlaybook, listPlaybooks } from '../db/playbooks';
import { DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK_V1, RECEIVABLES_PLAYBOOK } from '../shared/builtin-playbooks';
import { parsePlaybookText } from '../shared/playbook-file';
import { getJson, startStack, type Stack } from './helpers';

/**
 * Published playbooks (issue 16, part 1) on the real API and PostgreSQL: a file published once per
 * version (201), listed beside the built-ins, the same text again 200, a broken file 422 with its line
 * and field and nothing written, a version not above the latest 409; the rows never change (trigger);
 * findPlaybook picks the latest or the named version. Ids are this run's own: the test database is
 * shared, and intake starts new cases with the latest version of an id.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack({ worker: false });
});
afterAll(async () => {
  await s?.stop();
});

const sha256 = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
/** A valid playbook file of `id` and `version`, with a comment for authors. */
const yamlFile = (id: string, version: number, extra = '') =>
  [
    `# ${id}: a test ladder`,
    `id: ${id}`,
    `version: ${version}`,
    'name: Test ladder',
    'penaltyBpsPerDay: 4',
    'allocationOrder: [fees, penalty, principal]',
    'blacklistAtDaysOverdue: 30',
    'promise: { graceDays: 2, maxDaysAhead: 30 }',
    'guarantor: { responseDays: 7 }',
    'legal: { brokenPromisesForReferral: 2, approvalReminderHours: 24 }',
    'steps:',
    '  - id: call',
    '    day: 1',
    '    action: phone-call',
    '    description: Call',
    "    window: { from: '09:00', to: '18:00' }",
    extra,
  ].join('\n');

async function publish(text: string, type = 'application/yaml', key = s.keys.admin) {
  const res = await fetch(`${s.apiUrl}/v1/playbooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': type },
    body: text,
  });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : undefined, type: res.headers.get('content-type') };
}
const rowsOf = async (id: string) =>
  (await s.sql<{ n: number }[]>`select count(*)::int as n from playbook_versions where playbook_id = ${id}`)[0]!.n;

describe('POST /v1/playbooks', () => {
  it('publishes a YAML file (201), lists it beside the built-ins, audits it; the same text again is 200', async () => {
    const id = uniqueId('test-pub');
    const text = yamlFile(id, 1);
    const r = await publish(text);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ id, version: 1, name: 'Test ladder', builtIn: false, sha256: sha256(text), publishedBy: 'admin-1' });

    const [row] = await s.sql<{ source: string; body: Record<string, unknown>; sha256: string }[]>`
      select source, body, sha256 from playbook_versions where playbook_id = ${id} and version = 1`;
    expect(row!.source).toBe(text);
    expect(row!.sha256).toBe(sha256(text));
    // The body is the playbook as a case gets it: every default spelled out.
    expect(row!.body).toMatchObject({ stepAttempts: 12, letterLanguage: 'zh-CN', steps: [{ id: 'call', catchUp: false, conditions: {} }] });
    const audited = await s.sql`select actor, detail from audit_log where action = 'playbook-published' and detail->>'playbookId' = ${id}`;
    expect(audited).toEqual([{ actor: 'admin-1', detail: { playbookId: id, version: 1, name: 'Test ladder', sha256: sha256(text) } }]);

    for (const key of [s.keys.admin, s.keys.supervisor, s.keys.manager]) {
      const list = await getJson(`${s.apiUrl}/v1/playbooks`, key);
      expect(list.status).toBe(200);
      const mine = list.body.playbooks.find((p: { id: string }) => p.id === id);
      expect(mine).toEqual({ id, name: 'Test ladder', latest: 1, versions: [{ ...r.body }] });
      const builtIn = list.body.playbooks.find((p: { id: string }) => p.id === 'micro-loan-default');
      expect(builtIn.versions.map((v: { version: number; builtIn: boolean }) => [v.version, v.builtIn])).toEqual([
        [1, true],
        [2, true],
      ]);
      expect(builtIn.versions[0].sha256).toBe(sha256(readFileSync('playbooks/micro-loan-default.v1.yaml', 'utf8')));
    }
    expect((await getJson(`${s.apiUrl}/v1/playbooks`, s.keys.collector)).status).toBe(403);

    const again = await publish(text);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(r.body);
    expect(await rowsOf(id)).toBe(1);
  });

  it('a broken file: 422 with each issue at its line and field, and nothing written', async () => {
    const id = uniqueId('test-broken');
    const text = yamlFile(id, 1)
      .replace("to: '18:00'", "to: '18:00pm'")
      .replace('    day: 1', '    day: one')
      .replace('penaltyBpsPerDay: 4', 'penaltyBpsPerDay: 4\npenaltyBpsPerDey: 4');
    const r = await publish(text);
    expect(r.status).toBe(422);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.body.issues).toEqual([
      { line: 6, column: 1, path: 'penaltyBpsPerDey', message: 'unknown key "penaltyBpsPerDey"' },
      { line: 14, column: 10, path: 'steps[0].day', message: 'expected a number, got "one" (a string)' },
      { line: 17, column: 34, path: 'steps[0].window.to', message: 'HH:MM, 24-hour' },
    ]);
    const syntax = await publish(`${yamlFile(id, 1)}\n\t- oops`);
    expect(syntax.status).toBe(422);
    expect(syntax.body.issues[0]).toMatchObject({ line: 18, column: 1, path: '' });
    // JSON: strict, with its line too.
    const json = await publish('{\n  "id": "x",\n  "version": 1,\n}', 'application/json');
    expect(json.status).toBe(422);
    expect(json.body.issues).toEqual([{ line: 4, column: 1, path: '', message: "not valid JSON: a comma before '}'" }]);
    expect(await rowsOf(id)).toBe(0);
    expect(await s.sql`select 1 from audit_log where action = 'playbook-published' and detail->>'playbookId' = ${id}`).toHaveLength(0);
  });

  it('a version not above the latest (published or built in): 409 naming the latest, nothing written', async () => {
    const id = uniqueId('test-ver');
    expect((await publish(yamlFile(id, 2))).status).toBe(201);
    for (const version of [1, 2]) {
      const r = await publish(yamlFile(id, version, '# changed'));
      expect(r.status).toBe(409);
      expect(r.body.detail).toBe(
        `${id} v${version}: the latest version of ${id} is v2 (published), and a version is never changed: publish v3 or higher`,
      );
      expect(r.body.latest).toMatchObject({ id, version: 2, builtIn: false });
    }
    expect(await rowsOf(id)).toBe(1);
    expect((await publish(yamlFile(id, 3))).status).toBe(201);

    // A built-in id: above its built-in versions only (no write here: intake would start new cases with it).
    const builtIn = readFileSync('playbooks/micro-loan-default.v2.yaml', 'utf8');
    const changed = await publish(builtIn.replace('penaltyBpsPerDay: 5', 'penaltyBpsPerDay: 6'));
    expect(changed.status).toBe(409);
    expect(changed.body.latest).toMatchObject({ id: 'micro-loan-default', version: 2, builtIn: true });
    expect(changed.body.detail).toMatch(/is v2 \(built in\).*publish v3 or higher/);
    // The built-in's own file is that version already.
    const same = await publish(builtIn);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ id: 'micro-loan-default', version: 2, builtIn: true, sha256: sha256(builtIn) });
    expect(await rowsOf('micro-loan-default')).toBe(0);
  });

  it('only an admin publishes; YAML or JSON only', async () => {
    const id = uniqueId('test-who');
    expect((await publish(yamlFile(id, 1), 'application/yaml', s.keys.supervisor)).status).toBe(403);
    expect((await publish(yamlFile(id, 1), 'text/plain')).status).toBe(415);
    expect((await publish(yamlFile(id, 1), 'text/yaml; charset=utf-8')).status).toBe(201);
  });
});

describe('GET /v1/playbooks/:id/versions/:version', () => {
  it('the playbook as a case gets it, or the file as published (JSON here)', async () => {
    const id = uniqueId('test-get');
    const parsed = parsePlaybookText(yamlFile(id, 1), 'x.yaml');
    if (!parsed.ok) throw new Error('valid');
    // Published without a default: the API gives it back filled in.
    const lean: Record<string, unknown> = { ...parsed.playbook };
    delete lean.stepAttempts;
    const text = JSON.stringify(lean, null, 2);
    const r = await publish(text, 'application/json');
    expect(r.status, JSON.stringify(r.body)).toBe(201);

    const got = await getJson(`${s.apiUrl}/v1/playbooks/${id}/versions/1`, s.keys.supervisor);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(parsed.playbook);
    const source = await fetch(`${s.apiUrl}/v1/playbooks/${id}/versions/1?format=source`, {
      headers: { authorization: `Bearer ${s.keys.manager}` },
    });
    expect(source.status).toBe(200);
    expect(source.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await source.text()).toBe(text);

    const builtIn = await fetch(`${s.apiUrl}/v1/playbooks/receivables-sales/versions/1?format=source`, {
      headers: { authorization: `Bearer ${s.keys.admin}` },
    });
    expect(builtIn.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(await builtIn.text()).toBe(readFileSync('playbooks/receivables-sales.v1.yaml', 'utf8'));
    expect((await getJson(`${s.apiUrl}/v1/playbooks/receivables-sales/versions/1`, s.keys.admin)).body).toEqual(RECEIVABLES_PLAYBOOK);

    expect((await getJson(`${s.apiUrl}/v1/playbooks/${id}/versions/2`, s.keys.admin)).status).toBe(404);
    expect((await getJson(`${s.apiUrl}/v1/playbooks/Not_An_Id/versions/1`, s.keys.admin)).status).toBe(400);
    expect((await getJson(`${s.apiUrl}/v1/playbooks/${id}/versions/1`, s.keys.collector)).status).toBe(403);
  });
});

describe('the ledger of playbook versions', () => {
  it('refuses to update, delete or truncate a published version (trigger)', async () => {
    const id = uniqueId('test-immutable');
    expect((await publish(yamlFile(id, 1))).status).toBe(201);
    await expect(s.sql`update playbook_versions set name = 'changed' where playbook_id = ${id}`).rejects.toThrow(/append-only/);
    await expect(s.sql`update playbook_versions set body = body || '{"penaltyBpsPerDay": 9}' where playbook_id = ${id}`).rejects.toThrow(
      /append-only: .* v1 cannot be changed \(update\)/,
    );
    await expect(s.sql`delete from playbook_versions where playbook_id = ${id}`).rejects.toThrow(/cannot be changed \(delete\)/);
    await expect(s.sql`truncate playbook_versions`).rejects.toThrow(/append-only: no truncate/);
    const [row] = await s.sql<{ name: string }[]>`select name from playbook_versions where playbook_id = ${id}`;
    expect(row!.name).toBe('Test ladder');
  });

  it('findPlaybook: the latest of an id over built-in and published versions, or the named one', async () => {
    const id = uniqueId('test-find');
    expect(await findPlaybook(s.sql, id)).toBeUndefined();
    expect((await publish(yamlFile(id, 1))).status).toBe(201);
    expect((await publish(yamlFile(id, 4).replace('penaltyBpsPerDay: 4', 'penaltyBpsPerDay: 7'))).status).toBe(201);

    const latest = await findPlaybook(s.sql, id);
    expect(latest?.builtIn).toBe(false);
    expect(latest?.playbook.version).toBe(4);
    expect(latest?.playbook.penaltyBpsPerDay).toBe(7);
    // Read back from jsonb, in the schema's key order, as a built-in's.
    expect(Object.keys(latest!.playbook)).toEqual(Object.keys(DEFAULT_PLAYBOOK));
    expect(Object.keys(latest!.playbook.steps[0]!)).toEqual(['id', 'day', 'action', 'description', 'conditions', 'window', 'catchUp']);
    expect((await findPlaybook(s.sql, id, 1))?.playbook.penaltyBpsPerDay).toBe(4);
    expect(await findPlaybook(s.sql, id, 2)).toBeUndefined();

    expect(await findPlaybook(s.sql, 'micro-loan-default')).toEqual({ playbook: DEFAULT_PLAYBOOK, builtIn: true });
    expect(await findPlaybook(s.sql, 'micro-loan-default', 1)).toEqual({ playbook: DEFAULT_PLAYBOOK_V1, builtIn: true });
    expect(await findPlaybook(s.sql, 'micro-loan-default', 3)).toBeUndefined();

    const listed = (await listPlaybooks(s.sql)).find((p) => p.id === id);
    expect(listed).toMatchObject({ latest: 4, versions: [{ version: 1 }, { version: 4 }] });
  });
});

describe('recoup playbook publish | list', () => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation((line: string) => void out.push(line));
    try {
      await registerPlaybookCommands(new Command('recoup').exitOverride())
        .parent!.parseAsync(['node', 'recoup', 'playbook', ...args, '--url', s.apiUrl, '--key', s.keys.admin])
        .catch((e: Error) => out.push(`throws: ${e.message}`));
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const code = process.exitCode ?? 0;
    process.exitCode = undefined;
    return { code, out };
  };

  it('publishes a file (again: nothing changes), refuses a broken one with its lines, lists the versions', async () => {
    const id = uniqueId('test-cli');
    const dir = mkdtempSync(path.join(tmpdir(), 'recoup-pb-'));
    const file = path.join(dir, `${id}.v1.yaml`);
    writeFileSync(file, yamlFile(id, 1));
    const first = await run('publish', file);
    expect(first).toEqual({ code: 0, out: [`published ${id} v1 (sha256 ${sha256(yamlFile(id, 1))})`] });
    const again = await run('publish', file);
    expect(again.code).toBe(0);
    expect(again.out[0]).toMatch(new RegExp(`^${id} v1 is this very file already \\(published by admin-1 at .*\\): nothing changed$`));

    const lower = path.join(dir, `${id}.v1-changed.yaml`);
    writeFileSync(lower, yamlFile(id, 1, '# changed'));
    const refused = await run('publish', lower);
    expect(refused.code).toBe(1);
    expect(refused.out).toEqual([
      `refused: HTTP 409 Version not above the latest: ${id} v1: the latest version of ${id} is v1 (published), ` +
        'and a version is never changed: publish v2 or higher',
    ]);

    const broken = path.join(dir, `${id}.v2.yaml`);
    writeFileSync(broken, yamlFile(id, 2).replace("to: '18:00'", "to: '6pm'"));
    expect(await run('publish', broken)).toEqual({
      code: 1,
      out: [`${broken}:16:34 steps[0].window.to: HH:MM, 24-hour`, 'not published: the file is invalid'],
    });
    expect(await rowsOf(id)).toBe(1);

    const list = await run('list');
    expect(list.code).toBe(0);
    expect(list.out[0]).toMatch(/^ID +VERSION +SOURCE +PUBLISHED +NAME$/);
    expect(list.out).toContainEqual(expect.stringMatching(/^micro-loan-default +2 \(latest\) +built-in +Micro-loan escalation ladder$/));
    expect(list.out).toContainEqual(
      expect.stringMatching(new RegExp(`^${id} +1 \\(latest\\) +published +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ by admin-1 +Test ladder$`)),
    );
  });
});
