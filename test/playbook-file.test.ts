import { Command } from 'commander';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { diffPlaybooks, registerPlaybookCommands } from '../cli/playbook';
import { BUILD_COMMAND, GENERATED, generateBuiltinPlaybooks } from '../scripts/build-playbooks';
import { BUILTIN_PLAYBOOKS, DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK_V1, RECEIVABLES_PLAYBOOK } from '../shared/builtin-playbooks';
import type { Playbook } from '../shared/playbook';
import { builtinPlaybookFile, formatIssues, parsePlaybookText, type PlaybookIssue } from '../shared/playbook-file';

/** Playbook files (issue 16, part 1): the built-ins as YAML, validation with line-accurate issues, diff, the generated module. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

// A small valid playbook, one line per entry: the tests below break one line and expect that line.
const LINES = [
  '# a test ladder', //                                  1
  'id: test-ladder', //                                  2
  'version: 3', //                                       3
  'name: Test ladder', //                                4
  'penaltyBpsPerDay: 5', //                              5
  'allocationOrder: [fees, penalty, principal]', //      6
  'blacklistAtDaysOverdue: 30', //                       7
  'promise:', //                                         8
  '  graceDays: 2', //                                   9
  '  maxDaysAhead: 30', //                               10
  'guarantor:', //                                       11
  '  responseDays: 7', //                                12
  'legal:', //                                           13
  '  brokenPromisesForReferral: 2', //                   14
  '  approvalReminderHours: 24', //                      15
  'steps:', //                                           16
  '  - id: visit', //                                    17
  '    day: 0', //                                       18
  '    action: field-visit', //                          19
  '    description: Visit', //                           20
  '    window:', //                                      21
  "      from: '09:00'", //                              22
  "      to: '18:00'", //                                23
  '  - id: call', //                                     24
  '    day: 1', //                                       25
  '    action: phone-call', //                           26
  '    description: Call', //                            27
  '    repeat: { everyDays: 1, untilDay: 3 }', //        28
  "    window: { from: '09:00', to: '20:00' }", //       29
];
/** The file with line `n` (1-based) replaced. */
const withLine = (n: number, text: string) => [...LINES.slice(0, n - 1), text, ...LINES.slice(n)].join('\n') + '\n';
const VALID = LINES.join('\n') + '\n';

function issuesOf(text: string, file = 'test.yaml'): PlaybookIssue[] {
  const r = parsePlaybookText(text, file);
  if (r.ok) throw new Error('expected the file to be invalid');
  return r.issues;
}

describe('parsePlaybookText', () => {
  it('takes a valid file and fills in every default, in the schema order', () => {
    const r = parsePlaybookText(VALID, 'test.yaml');
    if (!r.ok) throw new Error(formatIssues('test.yaml', r.issues).join('\n'));
    expect(r.playbook.steps[0]).toStrictEqual({
      id: 'visit',
      day: 0,
      action: 'field-visit',
      description: 'Visit',
      conditions: {},
      window: { from: '09:00', to: '18:00' },
      catchUp: false,
    });
    expect(r.playbook.stepAttempts).toBe(12);
    expect(r.playbook.costs).toEqual({ fieldVisitMinor: 0, letterMinor: 0, recoverable: [] });
    expect(Object.keys(r.playbook).at(-1)).toBe('steps');
  });

  it('a YAML syntax error: its own line and column', () => {
    expect(issuesOf(withLine(19, '\taction: field-visit'))[0]).toEqual({
      line: 19,
      column: 1,
      path: '',
      message: 'Tabs are not allowed as indentation',
    });
    expect(issuesOf(withLine(4, 'name: Test ladder\nname: again'))).toEqual([
      { line: 5, column: 1, path: '', message: 'Map keys must be unique' },
    ]);
  });

  it('an unknown key: the line of that key, with the key it may have meant', () => {
    expect(issuesOf(withLine(28, '    repeats: { everyDays: 1, untilDay: 3 }'))).toEqual([
      { line: 28, column: 5, path: 'steps[1].repeats', message: 'unknown key "repeats" (did you mean "repeat"?)' },
    ]);
    expect(issuesOf(VALID + 'extra: 1\n')).toEqual([{ line: 30, column: 1, path: 'extra', message: 'unknown key "extra"' }]);
  });

  it('a bad time: the line and column of the value, and the field', () => {
    const issues = issuesOf(withLine(23, "      to: '18:60'"));
    expect(issues).toEqual([{ line: 23, column: 11, path: 'steps[0].window.to', message: 'HH:MM, 24-hour' }]);
    expect(formatIssues('playbooks/x.yaml', issues)).toEqual(['playbooks/x.yaml:23:11 steps[0].window.to: HH:MM, 24-hour']);
    // A flow mapping too: the column of the value in the line.
    expect(issuesOf(withLine(29, "    window: { from: '09:00', to: '8 pm' }"))).toEqual([
      { line: 29, column: 34, path: 'steps[1].window.to', message: 'HH:MM, 24-hour' },
    ]);
  });

  it('a duplicate step id: the line of the second', () => {
    expect(issuesOf(withLine(24, '  - id: visit'))).toEqual([
      { line: 24, column: 9, path: 'steps[1].id', message: 'duplicate step id visit' },
    ]);
  });

  it('a wrong type, an unknown action, a missing key (its mapping), an empty value', () => {
    expect(issuesOf(withLine(25, '    day: one'))).toEqual([
      { line: 25, column: 10, path: 'steps[1].day', message: 'expected a number, got "one" (a string)' },
    ]);
    expect(issuesOf(withLine(3, 'version: 1.5'))).toEqual([
      { line: 3, column: 10, path: 'version', message: 'expected a whole number, got 1.5' },
    ]);
    expect(issuesOf(withLine(26, '    action: sms'))[0]).toMatchObject({
      line: 26,
      column: 13,
      path: 'steps[1].action',
      message: expect.stringMatching(/^expected one of field-visit, phone-call, .*, got "sms" \(a string\)$/),
    });
    expect(issuesOf(withLine(10, ''))).toEqual([
      { line: 8, column: 1, path: 'promise.maxDaysAhead', message: 'missing (a number is required)' },
    ]);
    expect(issuesOf(withLine(4, 'name:'))).toEqual([{ line: 4, column: 6, path: 'name', message: 'expected a string, got nothing' }]);
    expect(issuesOf(withLine(2, 'id: Test_Ladder'))).toEqual([
      { line: 2, column: 5, path: 'id', message: 'lower-case letters, digits and dashes, up to 100 (it names the file and the URL)' },
    ]);
  });

  it('several problems: each on its line, in file order', () => {
    const text = withLine(25, '    day: one').replace("to: '18:00'", "to: '1800'").replace('  graceDays: 2', '  graceDay: 2');
    expect(formatIssues('t.yaml', issuesOf(text))).toEqual([
      't.yaml:8:1 promise.graceDays: missing (a number is required)',
      't.yaml:9:3 promise.graceDay: unknown key "graceDay" (did you mean "graceDays"?)',
      't.yaml:23:11 steps[0].window.to: HH:MM, 24-hour',
      't.yaml:25:10 steps[1].day: expected a number, got "one" (a string)',
    ]);
  });

  it('JSON: strict JSON, with the line and column of a syntax error or a bad field', () => {
    const r = parsePlaybookText(VALID, 'test.yaml');
    if (!r.ok) throw new Error('valid');
    const json = JSON.stringify(r.playbook, null, 2);
    expect(parsePlaybookText(json, 'test.json')).toEqual({ ok: true, playbook: r.playbook });

    const bad = json.replace('"to": "20:00"', '"to": "20:00:00"');
    const line = bad.split('\n').findIndex((l) => l.includes('"20:00:00"')) + 1;
    expect(issuesOf(bad, 'test.json')).toEqual([{ line, column: 15, path: 'steps[1].window.to', message: 'HH:MM, 24-hour' }]);

    expect(issuesOf('{\n  "id": "test-ladder",\n  "version": 3,,\n}', 'test.json')).toEqual([
      { line: 3, column: 16, path: '', message: 'not valid JSON: expected a "quoted" key, got ","' },
    ]);
    // YAML would take a trailing comma; a .json file may not have one.
    const trailing = json.replace(/"catchUp": false\n(\s*)\}/, '"catchUp": false,\n$1}');
    const at = trailing.split('\n').findIndex((l) => l.endsWith('"catchUp": false,')) + 2;
    expect(issuesOf(trailing, 'test.json')).toEqual([{ line: at, column: 5, path: '', message: "not valid JSON: a comma before '}'" }]);
  });

  it('an empty file, a list, a NUL byte, a deeply nested one: issues, never a throw', () => {
    expect(issuesOf('', 'e.yaml')).toEqual([{ line: 1, column: 1, path: '', message: expect.stringMatching(/^empty/) }]);
    expect(issuesOf('- a\n', 'l.yaml')).toEqual([{ line: 1, column: 1, path: '', message: 'expected a mapping, got a list' }]);
    expect(issuesOf(withLine(20, '    description: Vi\u0000sit'))[0]).toMatchObject({ line: 20, column: 20 });
    expect(issuesOf('['.repeat(100_000), 'n.json')).toEqual([{ line: 1, column: 65, path: '', message: 'nested more than 64 deep' }]);
    expect(issuesOf('['.repeat(100_000), 'n.yaml')).toEqual([{ line: 1, column: 65, path: '', message: 'nested more than 64 deep' }]);
    // Brackets in quotes and comments are no nesting.
    expect(issuesOf(`a: "${'['.repeat(100)}" # ${'{'.repeat(100)}\n`, 'q.yaml')).toContainEqual({
      line: 1,
      column: 1,
      path: 'a',
      message: 'unknown key "a"',
    });
  });
});

describe('the built-in playbooks as files', () => {
  const constants: Array<[string, Playbook]> = [
    ['DEFAULT_PLAYBOOK_V1', DEFAULT_PLAYBOOK_V1],
    ['DEFAULT_PLAYBOOK', DEFAULT_PLAYBOOK],
    ['RECEIVABLES_PLAYBOOK', RECEIVABLES_PLAYBOOK],
  ];
  it.each(constants)('%s parses clean from its file, and is exactly the generated constant', (_, p) => {
    const file = builtinPlaybookFile(p.id, p.version);
    const r = parsePlaybookText(read(file), file);
    if (!r.ok) throw new Error(formatIssues(file, r.issues).join('\n'));
    expect(r.playbook).toStrictEqual(p);
    expect(JSON.stringify(r.playbook)).toBe(JSON.stringify(p));
  });

  it('BUILTIN_PLAYBOOKS is every version, each once', () => {
    expect(BUILTIN_PLAYBOOKS.map((p) => `${p.id} v${p.version}`)).toEqual([
      'micro-loan-default v1',
      'micro-loan-default v2',
      'receivables-sales v1',
    ]);
  });

  it(`${GENERATED} is what \`${BUILD_COMMAND}\` makes of playbooks/*.yaml`, async () => {
    const fresh = await generateBuiltinPlaybooks();
    expect(read(GENERATED), `${GENERATED} is stale: a YAML file changed and not it, or the reverse. Run \`${BUILD_COMMAND}\``).toBe(fresh);
    expect(fresh).toMatch(/^\/\/ Generated by `npm run build:playbooks`/);
    expect(fresh).not.toMatch(/from 'zod'|from 'yaml'/);
  });

  it('an edited YAML file makes the generated file stale (and a broken one is refused, file:line:column)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'recoup-playbooks-'));
    cpSync(path.join(ROOT, 'playbooks'), path.join(root, 'playbooks'), { recursive: true });
    const file = path.join(root, 'playbooks/receivables-sales.v1.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('penaltyBpsPerDay: 3', 'penaltyBpsPerDay: 4'));
    const edited = await generateBuiltinPlaybooks(root);
    expect(edited).not.toBe(read(GENERATED));
    expect(edited).toContain('penaltyBpsPerDay: 4');
    writeFileSync(file, text.replace("window: { from: '09:00', to: '18:00' }", "window: { from: '09:00', to: '6pm' }"));
    await expect(generateBuiltinPlaybooks(root)).rejects.toThrow(
      /playbooks\/receivables-sales\.v1\.yaml:\d+:\d+ steps\[0\]\.window\.to: HH:MM/,
    );
    writeFileSync(file, text.replace('version: 1', 'version: 2'));
    await expect(generateBuiltinPlaybooks(root)).rejects.toThrow(/is named playbooks\/receivables-sales\.v2\.yaml/);
  });
});

describe('diffPlaybooks', () => {
  it('v1 → v2 of the micro-loan ladder: the version and the recoverable letter fee', () => {
    expect(diffPlaybooks(DEFAULT_PLAYBOOK_V1, DEFAULT_PLAYBOOK)).toEqual(['~ version: 1 → 2', '~ costs.recoverable: [] → ["letter"]']);
    expect(diffPlaybooks(DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK)).toEqual([]);
  });

  it('steps added, removed and changed by id, fields old → new, and a new order', () => {
    const a = DEFAULT_PLAYBOOK;
    const steps = a.steps
      .filter((s) => s.id !== 'second-visit')
      .map((s) => (s.id === 'early-call' ? { ...s, repeat: { everyDays: 1, untilDay: 5 } } : s));
    const b: Playbook = {
      ...a,
      version: 3,
      penaltyBpsPerDay: 6,
      steps: [
        ...steps.slice(0, 3),
        { ...steps[4]!, window: { ...steps[4]!.window, from: '10:00' } },
        steps[3]!,
        ...steps.slice(5),
        {
          id: 'sms-reminder',
          day: 2,
          action: 'phone-call',
          description: 'A reminder',
          conditions: {},
          window: a.steps[1]!.window,
          catchUp: false,
        },
      ],
    };
    expect(diffPlaybooks(a, b)).toEqual([
      '~ version: 2 → 3',
      '~ penaltyBpsPerDay: 5 → 6',
      '- step second-visit (day 4, field-visit)',
      '+ step sms-reminder (day 2, phone-call): A reminder',
      '~ step early-call: repeat.untilDay: 3 → 5',
      '~ step daily-call: window.from: "09:00" → "10:00"',
      '~ steps order: first-visit, early-call, guarantor-contact, overdue-notice, daily-call, guarantor-demand, legal-referral → ' +
        'first-visit, early-call, guarantor-contact, daily-call, overdue-notice, guarantor-demand, legal-referral',
    ]);
  });
});

describe('recoup playbook validate | diff', () => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    const err = vi.spyOn(console, 'error').mockImplementation((s: string) => void out.push(s));
    try {
      await registerPlaybookCommands(new Command('recoup').exitOverride())
        .parent!.parseAsync(['node', 'recoup', 'playbook', ...args])
        .catch((e: Error) => out.push(`throws: ${e.message}`));
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const code = process.exitCode ?? 0;
    process.exitCode = undefined;
    return { code, out };
  };
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('validate: ok files exit 0; a broken one prints file:line:column and exits 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'recoup-pb-cli-'));
    const good = path.join(dir, 'good.yaml');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(good, VALID);
    writeFileSync(bad, withLine(22, "      from: '9:00'").replace("to: '18:00'", "to: '18:30'"));
    expect(await run('validate', good)).toEqual({ code: 0, out: [`${good}: ok, test-ladder v3 (2 steps)`] });
    const r = await run('validate', good, bad);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${bad}:22:13 steps[0].window.from: HH:MM, 24-hour`);
    expect(r.out.at(-1)).toBe('1 of 2 file(s) invalid');
  });

  it('diff: exit 0 when the same, 1 with the changes when not, like diff(1)', async () => {
    const v1 = path.join(ROOT, 'playbooks/micro-loan-default.v1.yaml');
    const v2 = path.join(ROOT, 'playbooks/micro-loan-default.v2.yaml');
    expect(await run('diff', v1, v1)).toEqual({ code: 0, out: [] });
    expect(await run('diff', v1, v2)).toEqual({
      code: 1,
      out: [
        `--- ${v1}  micro-loan-default v1`,
        `+++ ${v2}  micro-loan-default v2`,
        '~ version: 1 → 2',
        '~ costs.recoverable: [] → ["letter"]',
      ],
    });
  });
});
