import { parse } from 'csv-parse/sync';
import { addDays } from '../shared/calendar';
import type { Debtor, Guarantor, MissedPayment } from '../shared/case';
import { csvOfLines } from '../shared/csv';
import { fieldOf, IMPORT_COLUMNS, isImportColumn, MissedPaymentBody, missedPaymentOfCsv, REQUIRED_IMPORT_COLUMNS } from '../shared/intake';
import { draw, pick, wholeWithin } from './random';

/** One account of the portfolio: its debtor and its missed instalments, oldest first (due dates as in the file). */
export interface SimAccount {
  accountId: string;
  debtor: Debtor;
  guarantors: Guarantor[];
  currency: string;
  instalments: MissedPayment[];
  collectorId?: string;
  creditGrade?: string;
  segment?: string;
  /** The row's playbook, used when the simulation is given none. */
  playbookId?: string;
}

/** A portfolio file that cannot be simulated at all (its header, or no usable row). */
export class PortfolioError extends Error {}

/**
 * Reads a portfolio CSV with the columns of the import (docs/imports.md): each row is validated as the
 * import validates it (shared/intake.ts), and rows of one account make one case, opened by its oldest
 * instalment. A row the import would reject is left out and said why (`skipped`); a header the import
 * would refuse refuses the file. The due dates are not checked against today: the simulation moves the
 * whole file onto its own calendar (docs/simulation.md).
 */
export function readPortfolio(text: string, fileName: string): { accounts: SimAccount[]; skipped: string[] } {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (e) {
    throw new PortfolioError(`${fileName} is not readable as CSV: ${(e as Error).message}`);
  }
  const [head, ...rows] = records;
  if (!head) throw new PortfolioError(`${fileName} is empty: it needs a header line (the columns of docs/imports.md)`);
  const header = head.map((c) => c.trim());
  const unknown = header.filter((c) => !isImportColumn(c));
  const missing = REQUIRED_IMPORT_COLUMNS.filter((c) => !header.includes(c));
  const twice = header.filter((c, i) => header.indexOf(c) !== i);
  if (unknown.length || missing.length || twice.length) {
    throw new PortfolioError(
      `${fileName}: the header does not match the columns of docs/imports.md` +
        `${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}` +
        `${twice.length ? `; repeated: ${twice.join(', ')}` : ''} (columns: ${IMPORT_COLUMNS.join(', ')})`,
    );
  }
  const skipped: string[] = [];
  const byAccount = new Map<string, { account: SimAccount; lines: number[] }>();
  rows.forEach((record, i) => {
    const line = i + 2;
    if (record.length !== header.length) {
      skipped.push(`line ${line}: ${record.length} fields where the header has ${header.length}`);
      return;
    }
    const cells: Record<string, string> = {};
    header.forEach((c, k) => {
      const v = record[k]!.trim();
      if (v !== '') cells[c] = v;
    });
    const r = MissedPaymentBody.safeParse(missedPaymentOfCsv(cells));
    if (!r.success) {
      skipped.push(`line ${line}: ${r.error.issues.map((x) => `${fieldOf(x.path, true)}: ${x.message}`).join('; ')}`);
      return;
    }
    const m = r.data;
    const instalment = { dueDate: m.dueDate, amountMinor: m.amountDue.amountMinor, currency: m.amountDue.currency };
    const known = byAccount.get(m.accountId);
    if (known) {
      const a = known.account;
      if (a.currency !== instalment.currency) {
        skipped.push(
          `line ${line}: account ${m.accountId} is in ${a.currency} (line ${known.lines[0]}), this instalment in ${instalment.currency}`,
        );
      } else if (a.instalments.some((x) => x.dueDate === instalment.dueDate)) {
        skipped.push(`line ${line}: the same instalment (accountId, dueDate) as an earlier row`);
      } else {
        a.instalments.push(instalment);
        known.lines.push(line);
      }
      return;
    }
    const account: SimAccount = {
      accountId: m.accountId,
      debtor: m.debtor,
      guarantors: m.guarantors,
      currency: instalment.currency,
      instalments: [instalment],
      ...(m.collectorId ? { collectorId: m.collectorId } : {}),
      ...(m.creditGrade ? { creditGrade: m.creditGrade } : {}),
      ...(m.segment ? { segment: m.segment } : {}),
      ...(m.playbookId ? { playbookId: m.playbookId } : {}),
    };
    byAccount.set(m.accountId, { account, lines: [line] });
  });
  const accounts = [...byAccount.values()].map(({ account }) => ({
    ...account,
    instalments: [...account.instalments].sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : 0)),
  }));
  if (accounts.length === 0)
    throw new PortfolioError(`${fileName} holds no row that could be simulated${skipped.length ? `: ${skipped[0]}` : ''}`);
  return { accounts: accounts.sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0)), skipped };
}

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '高'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '华', '建国'];
const CN_REGIONS = [
  { region: 'beijing-east', address: '北京市朝阳区建国路' },
  { region: 'beijing-west', address: '北京市海淀区中关村大街' },
  { region: 'shanghai', address: '上海市浦东新区世纪大道' },
  { region: 'hangzhou', address: '浙江省杭州市西湖区文三路' },
];
const US_NAMES = ['Alex Morgan', 'Jordan Lee', 'Sam Carter', 'Taylor Brooks', 'Casey Rivera', 'Morgan Hayes', 'Riley Foster', 'Drew Patel'];
/** The latest due date of a generated portfolio; the others fall in the week before it. */
const GENERATED_LAST_DUE = '2026-11-20';

/**
 * A portfolio of `n` made-up accounts as CSV (the import's columns), the same for the same `n` and
 * seed: micro-loans (70 %, most with a guarantor), small businesses (20 %) and US consumers (10 %, in
 * USD, under Regulation F), instalments due in the week up to 2026-11-20, one account in ten with an
 * older instalment a month before.
 */
export function generatePortfolio(n: number, seed: number): string {
  const header = [
    'accountId',
    'dueDate',
    'amountMinor',
    'currency',
    'debtorName',
    'timeZone',
    'phones',
    'address',
    'region',
    'jurisdiction',
    'creditGrade',
    'segment',
    'guarantorId',
    'guarantorName',
    'guarantorPhones',
    'guarantorAddress',
  ] as const;
  const lines: Array<Array<string | number>> = [[...header]];
  const width = Math.max(6, String(n).length);
  for (let i = 1; i <= n; i++) {
    const id = `SIM-${String(i).padStart(width, '0')}`;
    const u = (what: string) => draw(seed, id, `generate:${what}`);
    const segment = pick({ 'micro-loan': 70, sme: 20, 'consumer-us': 10 }, u('segment'));
    const us = segment === 'consumer-us';
    const due = addDays(GENERATED_LAST_DUE, -Number(pick({ 0: 40, 1: 15, 2: 12, 3: 10, 4: 9, 5: 7, 6: 7 }, u('due'))));
    // Amounts spread over a range of ten (log-uniform), rounded to whole units of the currency.
    const [lo, hi] = segment === 'sme' ? [2_000_000, 20_000_000] : us ? [50_000, 500_000] : [100_000, 1_000_000];
    const amount = Math.round((lo * Math.pow(hi / lo, u('amount'))) / 100) * 100;
    const place = CN_REGIONS[wholeWithin([0, CN_REGIONS.length - 1], u('region'))]!;
    const name = us
      ? US_NAMES[wholeWithin([0, US_NAMES.length - 1], u('name'))]!
      : segment === 'sme'
        ? `${place.address.slice(0, 2)}${GIVEN[wholeWithin([0, GIVEN.length - 1], u('name'))]}贸易有限公司`
        : `${SURNAMES[wholeWithin([0, SURNAMES.length - 1], u('surname'))]}${GIVEN[wholeWithin([0, GIVEN.length - 1], u('name'))]}`;
    const phone = us
      ? `+1 212 555 ${String(1000 + (i % 9000)).padStart(4, '0')}`
      : `+86 138 ${String(i % 10000).padStart(4, '0')} ${String(i % 10000).padStart(4, '0')}`;
    const hasGuarantor = !us && u('guarantor') < (segment === 'sme' ? 0.8 : 0.6);
    const grade = pick({ A: 10, B: 25, C: 35, D: 20, E: 10 }, u('grade'));
    const row = (dueDate: string, amountMinor: number) => [
      id,
      dueDate,
      amountMinor,
      us ? 'USD' : 'CNY',
      name,
      us ? 'America/New_York' : 'Asia/Shanghai',
      phone,
      us ? `${100 + (i % 900)} Main Street, New York, NY` : `${place.address}${1 + (i % 200)}号`,
      us ? 'new-york' : place.region,
      us ? 'US' : 'CN',
      grade,
      segment,
      hasGuarantor ? 'G1' : '',
      hasGuarantor ? `${SURNAMES[wholeWithin([0, SURNAMES.length - 1], u('guarantor-surname'))]}保证` : '',
      hasGuarantor ? `+86 139 ${String(i % 10000).padStart(4, '0')} ${String((i * 7) % 10000).padStart(4, '0')}` : '',
      hasGuarantor ? `${place.address}${201 + (i % 300)}号` : '',
    ];
    lines.push(row(due, amount));
    if (u('older') < 0.1) lines.push(row(addDays(due, -30), amount));
  }
  return csvOfLines(lines);
}
