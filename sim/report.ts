import { daysBetween, localDate } from '../shared/calendar';
import { csvOfLines } from '../shared/csv';
import { formatAmount } from '../shared/money';
import type { CaseBook } from './world';

/** What one playbook did to the portfolio by the end of the simulation (events after its last day are left out). */
export interface Figures {
  label: string;
  playbook: string;
  cases: number;
  /** By currency: the opening principal, principal recovered by the end of each day (0..days), cash by part. */
  money: Record<
    string,
    {
      openingMinor: number;
      curve: number[];
      principalMinor: number;
      penaltyMinor: number;
      feesMinor: number;
      byGuarantorsMinor: number;
      excessMinor: number;
      letters: { count: number; minor: number };
      visits: { count: number; minor: number };
    }
  >;
  /** Steps that happened, by action (plus guarantor calls and lawyer's letters), and contacts that reached the debtor. */
  actions: Record<string, number>;
  reached: { phone: number; visit: number };
  refusals: Record<string, number>;
  /** Where the cases stand at the end: closed by stage, in legal, awaiting the referral's approval, open. */
  stages: Record<string, number>;
  /** Cases closed by the end of each day (0..days). */
  closedCurve: number[];
  blacklisted: number;
  promises: { made: number; kept: number; broken: number; pending: number };
  guarantors: { pays: number; refuses: number; silent: number };
  /** What the cases refused of what the simulation sent them, by kind: a promise while another was pending, ... */
  rejected: Record<string, number>;
  failedSteps: number;
  reminders: number;
}

/** The simulation day of an instant for this case (0 = its day 0), or undefined past its last day. */
const dayOf = (b: CaseBook, at: number): number | undefined =>
  at < b.horizon ? Math.max(0, daysBetween(b.start, localDate(at, b.subject.timeZone))) : undefined;

const add = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

export function figuresOf(books: CaseBook[], variants: Array<{ label: string; playbook: string }>, days: number): Figures[] {
  return variants.map((v, i) => {
    const mine = books.filter((b) => b.variant === i);
    const f: Figures = {
      ...v,
      cases: mine.length,
      money: {},
      actions: {},
      reached: { phone: 0, visit: 0 },
      refusals: {},
      stages: {},
      closedCurve: new Array<number>(days + 1).fill(0),
      blacklisted: 0,
      promises: { made: 0, kept: 0, broken: 0, pending: 0 },
      guarantors: { pays: 0, refuses: 0, silent: 0 },
      rejected: {},
      failedSteps: 0,
      reminders: 0,
    };
    for (const b of mine) {
      const within = (at: number) => dayOf(b, at) !== undefined;
      const m = (f.money[b.account.currency] ??= {
        openingMinor: 0,
        curve: new Array<number>(days + 1).fill(0),
        principalMinor: 0,
        penaltyMinor: 0,
        feesMinor: 0,
        byGuarantorsMinor: 0,
        excessMinor: 0,
        letters: { count: 0, minor: 0 },
        visits: { count: 0, minor: 0 },
      });
      m.openingMinor += b.openingMinor;
      for (const p of b.payments) {
        const d = dayOf(b, p.at);
        if (d === undefined) continue;
        m.curve[d]! += p.principalMinor;
        m.principalMinor += p.principalMinor;
        m.penaltyMinor += p.penaltyMinor;
        m.feesMinor += p.feesMinor;
        m.excessMinor += p.excessMinor;
        if (p.payer === 'guarantor') m.byGuarantorsMinor += p.principalMinor + p.penaltyMinor + p.feesMinor;
      }
      for (const c of b.costs.filter((x) => within(x.at))) {
        const into = c.kind === 'letter' ? m.letters : m.visits;
        into.count += 1;
        into.minor += c.minor;
      }
      for (const a of b.actions.filter((x) => within(x.at))) add(f.actions, a.action);
      for (const r of b.reached.filter((x) => within(x.at))) f.reached[r.channel] += 1;
      for (const r of b.refusals.filter((x) => within(x.at))) add(f.refusals, r.rule);
      for (const r of b.rejected.filter((x) => within(x.at))) add(f.rejected, r.kind);
      for (const g of b.guarantorAnswers.filter((x) => within(x.at))) f.guarantors[g.answer] += 1;
      f.failedSteps += b.failures.filter((x) => within(x.at)).length;
      f.reminders += b.reminders.filter(within).length;
      for (const p of b.promises.values()) {
        if (!within(p.madeAt)) continue;
        f.promises.made += 1;
        if (p.status !== 'pending' && within(p.statusAt)) f.promises[p.status] += 1;
        else f.promises.pending += 1;
      }
      const closedOn = b.closed ? dayOf(b, b.closed.at) : undefined;
      if (b.closed && closedOn !== undefined) {
        add(f.stages, `closed ${b.closed.stage}`);
        f.closedCurve[closedOn]! += 1;
        if (b.blacklistedAt !== undefined) f.blacklisted += 1;
      } else if (b.legalAt !== undefined && within(b.legalAt)) add(f.stages, 'in legal proceedings');
      else if (b.referralAt !== undefined && within(b.referralAt)) add(f.stages, 'open, legal referral awaiting approval');
      else add(f.stages, 'open');
    }
    for (const m of Object.values(f.money)) for (let d = 1; d <= days; d++) m.curve[d]! += m.curve[d - 1]!;
    for (let d = 1; d <= days; d++) f.closedCurve[d]! += f.closedCurve[d - 1]!;
    return f;
  });
}

/** The days the report shows: 7, 14, 30, 60, 90, 120 up to the last day, and the last day. */
function checkpoints(days: number): number[] {
  return [...new Set([...[7, 14, 30, 60, 90, 120].filter((d) => d < days), days])];
}

export interface ReportHeader {
  portfolio: string;
  accounts: number;
  instalments: number;
  days: number;
  seed: number;
  behaviour: string;
  /** Each playbook's label, id and version, and where it came from. */
  playbooks: Array<{ label: string; description: string }>;
}

const ACTION_LINES: Array<[string, string]> = [
  ['phone-call', 'phone calls'],
  ['field-visit', 'field visits'],
  ['guarantor-call', 'guarantor calls'],
  ['overdue-notice', 'overdue notices'],
  ['statement-of-account', 'statements of account'],
  ['guarantor-demand', 'guarantor demands (letters)'],
  ['legal-referral', 'legal referrals asked'],
  ['lawyers-letter', "lawyer's letters (handed to legal)"],
];

/** The report as text: the playbooks side by side. The same figures give the same bytes. */
export function textReport(h: ReportHeader, figures: Figures[]): string {
  const W = 50;
  const C = 22;
  const out: string[] = [];
  const line = (label: string, values: string[]) => out.push(`${label.padEnd(W)}${values.map((v) => v.padStart(C)).join('')}`.trimEnd());
  const section = (title: string) => out.push('', title);
  const each = (fn: (f: Figures) => string) => figures.map(fn);
  const pct = (n: number, d: number) => (d > 0 ? `${((100 * n) / d).toFixed(1)} %` : '–');
  const perCase = (n: number, f: Figures) => (f.cases > 0 ? (n / f.cases).toFixed(2) : '–');
  const currencies = [...new Set(figures.flatMap((f) => Object.keys(f.money)))].sort();

  out.push('Recoup what-if simulation (docs/simulation.md)');
  out.push(`  portfolio    ${h.portfolio}: ${h.accounts} accounts, ${h.instalments} instalments`);
  out.push(`  days         ${h.days} (day 0: the day after the latest due date; "by day N": on days 0 to N)`);
  out.push(`  seed         ${h.seed}`);
  out.push(`  behaviour    ${h.behaviour}`);
  for (const p of h.playbooks) out.push(`  playbook ${p.label.padEnd(4)}${p.description}`);
  out.push('');
  line(
    '',
    each((f) => f.label),
  );

  for (const cur of currencies) {
    const opening = figures[0]!.money[cur]?.openingMinor ?? 0;
    section(`Recovery: principal recovered, share of the opening principal (${formatAmount(opening, cur)})`);
    for (const d of checkpoints(h.days))
      line(
        `  by day ${d}`,
        each((f) => pct(f.money[cur]?.curve[d] ?? 0, opening)),
      );
    section(`Collected by day ${h.days} (${cur})`);
    const amount = (pick: (m: Figures['money'][string]) => number) => each((f) => formatAmount(f.money[cur] ? pick(f.money[cur]) : 0, cur));
    line(
      '  principal',
      amount((m) => m.principalMinor),
    );
    line(
      '  penalty interest',
      amount((m) => m.penaltyMinor),
    );
    line(
      '  fees (recoverable costs)',
      amount((m) => m.feesMinor),
    );
    line(
      '  total',
      amount((m) => m.principalMinor + m.penaltyMinor + m.feesMinor),
    );
    line(
      '  of which paid by guarantors',
      amount((m) => m.byGuarantorsMinor),
    );
    line(
      '  overpaid (owed back to debtors)',
      amount((m) => m.excessMinor),
    );
    section(`Costs to the lender (the playbook's costs, ${cur})`);
    line(
      '  letters',
      amount((m) => m.letters.minor),
    );
    line(
      '    count',
      each((f) => String(f.money[cur]?.letters.count ?? 0)),
    );
    line(
      '  field visits',
      amount((m) => m.visits.minor),
    );
    line(
      '    count',
      each((f) => String(f.money[cur]?.visits.count ?? 0)),
    );
    line(
      '  total',
      amount((m) => m.letters.minor + m.visits.minor),
    );
    line(
      '  per 100 of principal recovered',
      each((f) => {
        const m = f.money[cur];
        return m && m.principalMinor > 0 ? ((100 * (m.letters.minor + m.visits.minor)) / m.principalMinor).toFixed(2) : '–';
      }),
    );
  }

  section('Contacts and steps per case');
  for (const [action, words] of ACTION_LINES) {
    if (figures.every((f) => !f.actions[action])) continue;
    line(
      `  ${words}`,
      each((f) => perCase(f.actions[action] ?? 0, f)),
    );
    if (action === 'phone-call')
      line(
        '    answered by the debtor',
        each((f) => perCase(f.reached.phone, f)),
      );
    if (action === 'field-visit')
      line(
        '    debtor met',
        each((f) => perCase(f.reached.visit, f)),
      );
  }
  const other = [...new Set(figures.flatMap((f) => Object.keys(f.actions)))].filter((a) => !ACTION_LINES.some(([k]) => k === a)).sort();
  for (const a of other)
    line(
      `  ${a}`,
      each((f) => perCase(f.actions[a] ?? 0, f)),
    );
  line(
    '  supervisor reminders (referral approval)',
    each((f) => perCase(f.reminders, f)),
  );

  section("Compliance refusals (activities/compliance/rules.ts over each case's contact log; deferrals included)");
  const rules = [...new Set(figures.flatMap((f) => Object.keys(f.refusals)))].sort();
  if (rules.length === 0)
    line(
      '  none',
      each(() => '0'),
    );
  for (const r of rules)
    line(
      `  ${r}`,
      each((f) => String(f.refusals[r] ?? 0)),
    );

  section(`Cases by day ${h.days}`);
  line(
    '  cases',
    each((f) => String(f.cases)),
  );
  const stages = [...new Set(figures.flatMap((f) => Object.keys(f.stages)))].sort();
  for (const s of stages)
    line(
      `  ${s}`,
      each((f) => String(f.stages[s] ?? 0)),
    );
  line(
    '  blacklisted (closed after a long delinquency)',
    each((f) => String(f.blacklisted)),
  );
  for (const d of checkpoints(h.days).filter((x) => x < h.days))
    line(
      `  closed by day ${d}`,
      each((f) => String(f.closedCurve[d] ?? 0)),
    );
  line(
    '  steps that failed',
    each((f) => String(f.failedSteps)),
  );

  section('Promises to pay');
  line(
    '  made',
    each((f) => String(f.promises.made)),
  );
  line(
    '  kept',
    each((f) => `${f.promises.kept} (${pct(f.promises.kept, f.promises.made)})`),
  );
  line(
    '  broken',
    each((f) => String(f.promises.broken)),
  );
  line(
    `  pending on day ${h.days}`,
    each((f) => String(f.promises.pending)),
  );
  section('Guarantor demands answered');
  for (const k of ['pays', 'refuses', 'silent'] as const)
    line(
      `  ${k}`,
      each((f) => String(f.guarantors[k])),
    );
  const kinds = [...new Set(figures.flatMap((f) => Object.keys(f.rejected)))].sort();
  if (kinds.length > 0) {
    section('Refused by the case (what a debtor or the operations team sent that the case did not take)');
    for (const k of kinds)
      line(
        `  ${k}`,
        each((f) => String(f.rejected[k] ?? 0)),
      );
  }
  return `${out.join('\n')}\n`;
}

/** The figures as CSV, one row per metric (and per day for the curves), one column per playbook: for a spreadsheet. */
export function csvReport(days: number, figures: Figures[]): string {
  const rows: Array<Array<string | number>> = [['section', 'metric', 'currency', 'day', ...figures.map((f) => f.label)]];
  const row = (section: string, metric: string, currency: string, day: number | '', values: number[]) =>
    rows.push([section, metric, currency, day, ...values]);
  const currencies = [...new Set(figures.flatMap((f) => Object.keys(f.money)))].sort();
  for (const cur of currencies) {
    const m = (f: Figures) => f.money[cur];
    row(
      'portfolio',
      'opening_principal_minor',
      cur,
      '',
      figures.map((f) => m(f)?.openingMinor ?? 0),
    );
    for (let d = 0; d <= days; d++)
      row(
        'recovery',
        'principal_recovered_minor',
        cur,
        d,
        figures.map((f) => m(f)?.curve[d] ?? 0),
      );
    for (const k of ['principalMinor', 'penaltyMinor', 'feesMinor', 'byGuarantorsMinor', 'excessMinor'] as const)
      row(
        'collected',
        k
          .replace(/Minor$/, '_minor')
          .replace(/([A-Z])/g, '_$1')
          .toLowerCase(),
        cur,
        days,
        figures.map((f) => m(f)?.[k] ?? 0),
      );
    row(
      'costs',
      'letters_minor',
      cur,
      days,
      figures.map((f) => m(f)?.letters.minor ?? 0),
    );
    row(
      'costs',
      'letters',
      cur,
      days,
      figures.map((f) => m(f)?.letters.count ?? 0),
    );
    row(
      'costs',
      'field_visits_minor',
      cur,
      days,
      figures.map((f) => m(f)?.visits.minor ?? 0),
    );
    row(
      'costs',
      'field_visits',
      cur,
      days,
      figures.map((f) => m(f)?.visits.count ?? 0),
    );
  }
  for (const a of [...new Set(figures.flatMap((f) => Object.keys(f.actions)))].sort())
    row(
      'steps',
      a,
      '',
      days,
      figures.map((f) => f.actions[a] ?? 0),
    );
  row(
    'steps',
    'phone-call answered',
    '',
    days,
    figures.map((f) => f.reached.phone),
  );
  row(
    'steps',
    'field-visit met',
    '',
    days,
    figures.map((f) => f.reached.visit),
  );
  row(
    'steps',
    'supervisor reminders',
    '',
    days,
    figures.map((f) => f.reminders),
  );
  for (const r of [...new Set(figures.flatMap((f) => Object.keys(f.refusals)))].sort())
    row(
      'compliance_refusals',
      r,
      '',
      days,
      figures.map((f) => f.refusals[r] ?? 0),
    );
  row(
    'cases',
    'cases',
    '',
    '',
    figures.map((f) => f.cases),
  );
  for (const s of [...new Set(figures.flatMap((f) => Object.keys(f.stages)))].sort())
    row(
      'cases',
      s,
      '',
      days,
      figures.map((f) => f.stages[s] ?? 0),
    );
  row(
    'cases',
    'blacklisted',
    '',
    days,
    figures.map((f) => f.blacklisted),
  );
  for (let d = 0; d <= days; d++)
    row(
      'cases',
      'closed',
      '',
      d,
      figures.map((f) => f.closedCurve[d] ?? 0),
    );
  for (const k of ['made', 'kept', 'broken', 'pending'] as const)
    row(
      'promises',
      k,
      '',
      days,
      figures.map((f) => f.promises[k]),
    );
  for (const k of ['pays', 'refuses', 'silent'] as const)
    row(
      'guarantor_demands',
      k,
      '',
      days,
      figures.map((f) => f.guarantors[k]),
    );
  for (const k of [...new Set(figures.flatMap((f) => Object.keys(f.rejected)))].sort())
    row(
      'refused_by_case',
      k,
      '',
      days,
      figures.map((f) => f.rejected[k] ?? 0),
    );
  return csvOfLines(rows);
}
