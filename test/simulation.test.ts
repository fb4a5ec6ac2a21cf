// `recoup simulate` (docs/simulation.md): the real case workflow on the time-skipping test server, with
// simulated debtors. 40 accounts (sim/examples/sample-portfolio.csv) for 120 days, under the default
// ladder and under a playbook without calls, side by side.
import { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerSimulateCommand } from '../cli/simulate';
import { BehaviourFileError, parseBehaviour } from '../sim/behaviour';
import { checkTiming } from '../sim/run';
import { simulate, type SimulateResult } from '../sim/simulate';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';

const SAMPLE = 'sim/examples/sample-portfolio.csv';
const NO_CALLS = 'sim/examples/visits-and-letters.yaml';
const DAYS = 120;

let dir: string;
let first: SimulateResult;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'recoup-sim-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `recoup simulate …` as the CLI does; stdout (the report) captured, stderr (progress) kept out of the log. */
async function cli(args: string[]): Promise<string> {
  let out = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const program = new Command('recoup').exitOverride();
    registerSimulateCommand(program);
    await program.parseAsync(['simulate', ...args], { from: 'user' });
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return out;
}

describe('recoup simulate', () => {
  it('runs 40 accounts for 120 days under two playbooks: sane figures, and the one without calls makes none', async () => {
    first = await simulate({ playbooks: ['micro-loan-default', NO_CALLS], portfolio: SAMPLE, days: DAYS, seed: 42 });
    const [a, b] = first.figures;
    expect(first.skipped).toEqual([]);
    for (const f of first.figures) {
      expect(f.cases).toBe(40);
      for (const [currency, m] of Object.entries(f.money)) {
        // The curve never goes down, ends at what was collected, and never passes the opening principal.
        for (let d = 1; d <= DAYS; d++) expect(m.curve[d], `${f.label} ${currency} day ${d}`).toBeGreaterThanOrEqual(m.curve[d - 1]!);
        expect(m.curve[DAYS]).toBe(m.principalMinor);
        expect(m.principalMinor).toBeLessThanOrEqual(m.openingMinor);
        expect(m.excessMinor).toBe(0); // a debtor who pays the whole balance pays what the case says it is
      }
      const stages = Object.values(f.stages).reduce((s, n) => s + n, 0);
      expect(stages).toBe(f.cases);
      const closed = Object.entries(f.stages)
        .filter(([k]) => k.startsWith('closed '))
        .reduce((s, [, n]) => s + n, 0);
      for (let d = 1; d <= DAYS; d++) expect(f.closedCurve[d]).toBeGreaterThanOrEqual(f.closedCurve[d - 1]!);
      expect(f.closedCurve[DAYS]).toBe(closed);
      expect(f.promises.kept + f.promises.broken + f.promises.pending).toBe(f.promises.made);
      expect(f.blacklisted).toBeLessThanOrEqual(closed);
    }
    // A: the default ladder calls; B calls no one (neither debtors nor guarantors) and so no call is answered.
    expect(a!.actions['phone-call']).toBeGreaterThan(40);
    expect(b!.actions['phone-call'] ?? 0).toBe(0);
    expect(b!.actions['guarantor-call'] ?? 0).toBe(0);
    expect(b!.reached.phone).toBe(0);
    expect(b!.actions['field-visit']).toBeGreaterThan(a!.actions['field-visit']!);
    // Cases that do not pay run their whole ladder: referral, a supervisor's approval, legal (the lawyer's letter).
    for (const f of first.figures) {
      expect(f.actions['lawyers-letter']).toBeGreaterThan(0);
      expect(f.stages['in legal proceedings']).toBeGreaterThan(0);
      // Every case in legal got its lawyer's letter (some paid after it and closed).
      expect(f.actions['lawyers-letter']).toBeGreaterThanOrEqual(f.stages['in legal proceedings']!);
    }
    // Someone paid, and money came in early under the default ladder.
    expect(a!.money.CNY!.curve[14]).toBeGreaterThan(0);
    expect(first.report).toContain('playbook A   micro-loan-default v2 (built in)');
    expect(first.report).toContain(`playbook B   visits-and-letters v1 (${NO_CALLS})`);
  }, 600_000);

  it('gives the same report and CSV, byte for byte, run again through the CLI with the same seed', async () => {
    const csv = path.join(dir, 'figures.csv');
    const report = await cli(['--portfolio', SAMPLE, '--playbook', 'micro-loan-default', '--playbook', NO_CALLS, '--csv', csv]);
    expect(report).toBe(first.report);
    expect(await readFile(csv, 'utf8')).toBe(first.csv);
  }, 600_000);

  it('gives other figures with another seed', async () => {
    const other = await simulate({ playbooks: ['micro-loan-default'], portfolio: SAMPLE, days: DAYS, seed: 7 });
    expect(other.figures[0]!.money).not.toEqual(first.figures[0]!.money);
  }, 600_000);

  it('refuses a behaviour file with each problem at its line', () => {
    const bad = [
      'version: 1',
      "reactAt: '25:00'",
      'operations: { approveAt: "10:00", approveLegalReferralAfterDays: 1, approveVisitsAfterMinutes: 60 }',
      'default:',
      '  answer: { phone: 1.5, visit: 0.5 }',
    ].join('\n');
    expect(() => parseBehaviour(bad, 'bad.yaml')).toThrow(BehaviourFileError);
    try {
      parseBehaviour(bad, 'bad.yaml');
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain('bad.yaml:2:10: reactAt: HH:MM, 24-hour');
      expect(message).toContain('bad.yaml:5:20: default.answer.phone: a probability, 0 to 1');
      expect(message).toContain('default.promise: missing');
    }
    expect(() => parseBehaviour('version: 1\n  nested: [', 'broken.yaml')).toThrow(/broken\.yaml:\d+:\d+/);
  });

  it('refuses a reactAt inside a letter window (payments would meet letters in flight)', () => {
    expect(() => checkTiming('12:00', [DEFAULT_PLAYBOOK])).toThrow(/reactAt 12:00 falls in the window 09:00–18:00/);
    expect(() => checkTiming('20:30', [DEFAULT_PLAYBOOK])).not.toThrow();
  });
});
