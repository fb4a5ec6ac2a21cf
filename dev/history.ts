import type { Role } from '../api/auth';
import { addDays, instantOf, localDate } from '../shared/calendar';
import { formatAmount } from '../shared/money';
import { signBody } from '../shared/signature';

/**
 * The demo's history (issue 14, part 6): a few hundred accounts that fell overdue over the last five
 * months, so that the portfolio's charts and the first Friday report have something to show. Opened
 * through the public API like the lender's system would, with back-dated due dates (the real case
 * workflows, on today's clock: a case opened 100 days after its due date catches up the way the
 * playbook says, serving the overdue notice once and asking for the legal referral, and skips the
 * visits and calls whose days have passed); repayments through the signed payment webhook with
 * back-dated `paidAt`, most partial, some paying the balance (the case closes `paid`). Then the
 * month's target and book, and the first weekly report.
 *
 * Deterministic (a seeded generator: the same accounts, amounts and payments every time, dated from
 * the day of the first seeding) and idempotent: a restarted demo finds the history (its first
 * account's due date gives the day it was seeded on) and only finishes what an interrupted start left.
 *
 * The catch-up is the seeding's cost (about 0.4 s of CPU a case, a PDF or two each): started between
 * 09:00 and 18:00 in Shanghai it runs during the seeding; started later, the letters wait for 09:00.
 *
 * Not back-dated, because the engine dates them itself: when a case opened and closed (the day of
 * the seeding), and what happened in it (its letters, calls and penalty run on today's clock).
 */
const TZ = 'Asia/Shanghai';
const CASES = 300;
/** Accounts ML-2026-1001 … ML-2026-1300 (the showcase's are ML-2026-0001 … 0004). */
const accountId = (i: number) => `ML-2026-${1001 + i}`;
/** The clearance team's collectors besides the showcase's two (dev/portfolio.ts). */
const COLLECTORS = [
  ['collector-3', '吴催收'],
  ['collector-4', '郑催收'],
  ['collector-5', '冯催收'],
] as const;
/** Accounts seeded at once: letters render on the worker meanwhile, and the 2-core demo stays usable. */
const IN_FLIGHT = 4;

// ---- a seeded generator (mulberry32): the same history on every machine ----
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  /** One of `xs` by weight. */
  const weighted = <T>(xs: ReadonlyArray<readonly [T, number]>): T => {
    let r = next() * xs.reduce((s, [, w]) => s + w, 0);
    for (const [x, w] of xs) if ((r -= w) < 0) return x;
    return xs[xs.length - 1]![0];
  };
  return { next, int, pick, weighted };
}

const SURNAMES = [
  ['王', 'Wang'],
  ['李', 'Li'],
  ['张', 'Zhang'],
  ['刘', 'Liu'],
  ['陈', 'Chen'],
  ['杨', 'Yang'],
  ['黄', 'Huang'],
  ['赵', 'Zhao'],
  ['吴', 'Wu'],
  ['周', 'Zhou'],
  ['徐', 'Xu'],
  ['孙', 'Sun'],
  ['马', 'Ma'],
  ['朱', 'Zhu'],
  ['胡', 'Hu'],
  ['郭', 'Guo'],
  ['何', 'He'],
  ['林', 'Lin'],
  ['高', 'Gao'],
  ['罗', 'Luo'],
  ['郑', 'Zheng'],
  ['梁', 'Liang'],
] as const;
const GIVEN = [
  '伟',
  '芳',
  '娜',
  '秀英',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀兰',
  '霞',
  '平',
  '刚',
  '桂英',
  '建华',
  '志强',
  '海燕',
  '国庆',
  '红梅',
  '文博',
  '子涵',
  '浩然',
  '雨桐',
  '晓东',
  '春生',
  '玉兰',
  '德福',
];
const SHOPS = [
  ['面馆', 'Noodle House'],
  ['餐馆', 'Restaurant'],
  ['五金店', 'Hardware Store'],
  ['农资店', 'Farm Supplies'],
  ['水果店', 'Fruit Shop'],
  ['汽修厂', 'Auto Repair'],
  ['服装店', 'Clothing Store'],
  ['快递站', 'Parcel Station'],
  ['装修队', 'Renovation Crew'],
  ['烟酒店', 'Tobacco & Liquor'],
  ['印刷厂', 'Print Shop'],
  ['家电维修部', 'Appliance Repair'],
] as const;
const STREETS = {
  Haidian: { district: '海淀区', code: '110108', streets: ['中关村大街', '学院路', '西三旗路', '五道口东街', '知春路', '北四环西路'] },
  Chaoyang: { district: '朝阳区', code: '110105', streets: ['建国路', '望京街', '三里屯路', '朝阳北路', '酒仙桥路', '东三环中路'] },
} as const;

/** A mainland resident ID number: region, birth date, sequence and its ISO 7064 MOD 11-2 check character. */
function idNumber(code: string, birth: string, seq: number): string {
  const body = `${code}${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, i) => s + Number(c) * weights[i]!, 0);
  return body + '10X98765432'[sum % 11]!;
}

interface PlannedPayment {
  /** Days before the seeding day, and the local time it was paid at. */
  daysAgo: number;
  time: string;
  /** Minor units; undefined: whatever the case owes then (the payment that closes it). */
  amountMinor?: number;
}
interface PlannedAccount {
  accountId: string;
  daysOverdue: number;
  body: Record<string, unknown>;
  amountMinor: number;
  payments: PlannedPayment[];
  closes: boolean;
}

/** The history, independent of the day: due dates and payments as days before the seeding day. */
function plan(): PlannedAccount[] {
  const g = generator(20_261_114);
  const accounts: PlannedAccount[] = [];
  for (let i = 0; i < CASES; i++) {
    const sme = g.next() < 0.25;
    const region = g.pick(['Haidian', 'Chaoyang'] as const);
    const place = STREETS[region];
    const [surname, pinyin] = g.pick(SURNAMES);
    const address = `北京市${place.district}${g.pick(place.streets)}${g.int(1, 188)}号`;
    const phone = () => `+86 1${g.pick(['3', '5', '7', '8', '9'])}${g.int(0, 9)} ${g.int(1000, 9999)} ${g.int(1000, 9999)}`;
    const shop = g.pick(SHOPS);
    const debtor = sme
      ? { name: `${surname}记${shop[0]} (${pinyin} Family ${shop[1]})`, phones: [phone()], address, region }
      : {
          name: `${surname}${g.pick(GIVEN)}`,
          idNumber: idNumber(
            place.code,
            `${g.int(1965, 2001)}-${String(g.int(1, 12)).padStart(2, '0')}-${String(g.int(1, 28)).padStart(2, '0')}`,
            g.int(1, 999),
          ),
          phones: [phone()],
          address,
          region,
        };
    const guarantors =
      g.next() < (sme ? 0.3 : 0.05)
        ? [
            {
              id: `G-${1001 + i}`,
              name: `${g.pick(SURNAMES)[0]}${g.pick(GIVEN)}`,
              phones: [phone()],
              address: `北京市${place.district}${g.pick(place.streets)}${g.int(1, 188)}号`,
            },
          ]
        : [];
    // Days overdue today: most accounts in their first month, a long tail to five months.
    const [lo, hi] = g.weighted([
      [[1, 3], 6],
      [[4, 7], 8],
      [[8, 30], 28],
      [[31, 60], 22],
      [[61, 90], 16],
      [[91, 150], 20],
    ] as const);
    const daysOverdue = g.int(lo, hi);
    const amountMinor = sme ? g.int(30, 200) * 100_000 : g.int(30, 400) * 10_000;
    const creditGrade = g.weighted([
      ['A', 5],
      ['B', 25],
      ['C', 35],
      ['D', 25],
      ['E', 10],
    ] as const);

    // Repayments: none, a few partial ones (a tenth to a quarter of the instalment each), or the whole balance
    // in the end. Paid at least two days after the due date, within the last twelve weeks.
    const latest = Math.min(daysOverdue - 2, 84);
    const kind =
      latest < 1
        ? 'none'
        : g.weighted([
            ['none', 37],
            ['partial', 45],
            ['closes', daysOverdue >= 8 ? 18 : 0],
          ] as const);
    const payments: PlannedPayment[] = [];
    if (kind !== 'none') {
      const n = kind === 'partial' ? g.int(1, 3) : g.int(0, 2);
      const days = new Set<number>();
      // Days drawn towards the older end (square root): the newer accounts can only have paid lately, the older
      // ones spread their payments over the weeks, and the weekly repayments come out steadier.
      const older = (lo: number, hi: number) => lo + Math.min(hi - lo, Math.floor(Math.sqrt(g.next()) * (hi - lo + 1)));
      const closingDay = kind === 'closes' ? older(0, Math.max(0, latest - n)) : -1;
      while (days.size < Math.min(n, latest - closingDay)) days.add(older(closingDay + 1, latest));
      for (const d of [...days].sort((a, b) => b - a)) {
        const share = g.int(10, 25) / 100;
        payments.push({
          daysAgo: d,
          time: `${g.int(8, 21)}:${String(g.int(0, 59)).padStart(2, '0')}`,
          amountMinor: Math.round((amountMinor * share) / 10_000) * 10_000,
        });
      }
      if (kind === 'closes') payments.push({ daysAgo: closingDay, time: `${g.int(8, 21)}:${String(g.int(0, 59)).padStart(2, '0')}` });
    }
    accounts.push({
      accountId: accountId(i),
      daysOverdue,
      amountMinor,
      payments,
      closes: kind === 'closes',
      body: {
        accountId: accountId(i),
        debtor: { ...debtor, timeZone: TZ, jurisdiction: 'CN' },
        guarantors,
        amountDue: { amountMinor, currency: 'CNY' },
        creditGrade,
        segment: sme ? 'sme' : 'micro-loan',
      },
    });
  }
  return accounts;
}

export interface HistorySummary {
  /** Seeded now, or found from an earlier start. */
  seededNow: boolean;
  cases: number;
  payments: number;
  closed: number;
  seconds: number;
  /** From the ledger afterwards: open cases by aging bucket, this month's recovery against its target, the first report. */
  openCases: number;
  aging: string;
  recovery: string;
  report?: string;
}

type Keys = Record<Role, string>;
interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** Seeds the history once (see above) and says what the portfolio looks like. `log` gets progress lines. */
export async function seedDemoHistory(
  apiUrl: string,
  keys: Keys,
  webhookSecret: string,
  log: (l: string) => void,
): Promise<HistorySummary> {
  const call = async (method: 'GET' | 'POST', path: string, key: string | undefined, body?: unknown): Promise<Reply> => {
    for (let attempt = 0; ; attempt++) {
      const raw = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      else headers['recoup-signature'] = signBody(webhookSecret, Math.floor(Date.now() / 1000), raw!);
      const res = await fetch(`${apiUrl}${path}`, { method, headers, ...(raw ? { body: raw } : {}) });
      const text = await res.text();
      // The webhook's rate limit (600 a minute), or a ledger that did not answer in time: again, a little later.
      if ((res.status === 429 || res.status === 503) && attempt < 20) {
        await new Promise((r) => setTimeout(r, 3_000));
        continue;
      }
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    }
  };
  const must = (what: string, r: Reply, ...ok: number[]) => {
    if (!ok.includes(r.status)) throw new Error(`demo history, ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const caseOf = async (id: string) => {
    const r = await call('GET', `/v1/cases/${id}`, keys.supervisor);
    return r.status === 404 ? undefined : must(`GET case ${id}`, r, 200);
  };

  const accounts = plan();
  const started = Date.now();
  // The day the history was first seeded: from its first account's due date, else today.
  const first = await caseOf(accounts[0]!.accountId);
  const firstDue = (first?.missedPayments as Array<{ dueDate: string }> | undefined)?.[0]?.dueDate;
  const seedDay = firstDue ? addDays(firstDue, accounts[0]!.daysOverdue) : localDate(Date.now(), TZ);
  const reports = async () =>
    (must('GET weekly reports', await call('GET', '/v1/reports/weekly', keys.manager), 200).reports as unknown[]).length;
  const done = first !== undefined && (await caseOf(accounts[accounts.length - 1]!.accountId)) !== undefined && (await reports()) > 0;

  let payments = 0;
  if (!done) {
    log(
      `${first ? 'finishing' : 'seeding'} the history: ${CASES} accounts overdue 1–150 days (as of ${seedDay}), ` +
        `${accounts.reduce((s, a) => s + a.payments.length, 0)} repayments`,
    );
    const pool = async (items: PlannedAccount[], work: (a: PlannedAccount) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < items.length) await work(items[next++]!);
        }),
      );
    };
    const progress = (what: string, n: number, of: number) => {
      if (n % 50 === 0 || n === of) log(`history: ${what} ${n}/${of} (${Math.round((Date.now() - started) / 1000)} s)`);
    };

    // 0. Three more collectors in the clearance team: two could not take 300 cases' calls, and the rest would wait in its queue.
    for (const [personId, name] of COLLECTORS)
      must(
        `person ${personId}`,
        await call('POST', '/v1/people', keys.admin, { personId, name, role: 'collector', teamId: 'clearance' }),
        200,
        201,
      );

    // 1. The missed instalments: each opens its case, which catches up (its letters render on the worker meanwhile).
    let opened = 0;
    await pool(accounts, async (a) => {
      const dueDate = addDays(seedDay, -a.daysOverdue);
      must(`intake ${a.accountId}`, await call('POST', '/v1/missed-payments', keys.admin, { ...a.body, dueDate }), 202);
      progress('accounts opened', ++opened, accounts.length);
    });

    // 2. The repayments, each case's once it has caught up and sleeps (the catch-up and the payments do not compete for
    // the 2 cores; a payment whose workflow task fails after its ledger write is answered 503 and sent again below).
    const asleep = async (a: PlannedAccount) => {
      for (let i = 0; i < 60; i++) {
        const c = await caseOf(a.accountId);
        const next = c?.nextAction as { dueAt: string } | undefined;
        if (c && (c.stage !== 'open' || (next && Date.parse(next.dueAt) > Date.now()))) return c;
        await new Promise((r) => setTimeout(r, 2_000));
      }
      return caseOf(a.accountId);
    };
    const pay = async (a: PlannedAccount, n: number, p: PlannedPayment, amountMinor: number) => {
      const paidAt = Math.min(instantOf(addDays(seedDay, -p.daysAgo), p.time, TZ), Date.now() - 60_000);
      const body = {
        accountId: a.accountId,
        paymentId: `PAY-${a.accountId}-${n}`,
        amountMinor,
        currency: 'CNY',
        paidAt: new Date(paidAt).toISOString(),
      };
      // 409: the case closed at an interrupted start; the payment is a duplicate then. 503: send it again, as a processor does.
      let answer = await call('POST', '/v1/webhooks/payments', undefined, body);
      for (let attempt = 1; answer.status === 503 && attempt < 5; attempt++) {
        await new Promise((r) => setTimeout(r, 1_000 * attempt));
        answer = await call('POST', '/v1/webhooks/payments', undefined, body);
      }
      must(`payment ${body.paymentId}`, answer, 200, 409);
      payments += 1;
    };
    const paying = accounts.filter((a) => a.payments.length > 0);
    let paid = 0;
    await pool(paying, async (a) => {
      const c = await asleep(a);
      if (c?.stage === 'open') {
        for (const [n, p] of a.payments.entries()) {
          // The last of a closing account's payments is the whole balance as the case has it (penalty to today, letter fees).
          const owed = p.amountMinor ?? Number((await caseOf(a.accountId))?.outstandingMinor ?? 0);
          if (owed > 0) await pay(a, n + 1, p, owed);
        }
      }
      progress('accounts repaying', ++paid, paying.length);
    });
  }

  // The month's target and the book, once a month (a manager's figures are not overwritten): sized on the
  // ledger's figures so that recovery, overdue and default rates read like a real portfolio's.
  const portfolio = async () => must('GET portfolio', await call('GET', '/v1/reports/portfolio', keys.manager), 200);
  let figures = await portfolio();
  const recovery = figures.recovery as { recoveredMinor: number; targetMinor: number | null };
  if (recovery.targetMinor === null) {
    const today = localDate(Date.now(), TZ);
    const overdue = Number(figures.overdueMinor);
    const cost = Number((figures.cost as { costMinor: number }).costMinor);
    const up = (x: number, unit: number) => Math.max(unit, Math.ceil(x / unit) * unit);
    must(
      'POST target',
      await call('POST', '/v1/targets', keys.manager, {
        periodKind: 'month',
        periodStart: `${today.slice(0, 8)}01`,
        scope: 'portfolio',
        currency: 'CNY',
        // Recovery so far about two thirds of the target; the book about twelve times what is overdue, a sixth of it lent this month.
        recoveryTargetMinor: up(Math.max(recovery.recoveredMinor / 0.65, overdue * 0.05), 1_000_000),
        costBudgetMinor: up(cost / 0.6, 100_000),
        bookBalanceMinor: up(overdue * 12, 100_000_000),
        issuedMinor: up(overdue * 2, 100_000_000),
        bookAccounts: 4_800,
      }),
      200,
    );
    figures = await portfolio();
  }
  // The first Friday report, made now (the Schedule makes the next ones), once.
  let report: string | undefined;
  if ((await reports()) === 0) {
    must('trigger the weekly report', await call('POST', '/v1/reports/weekly/schedule/trigger', keys.manager, {}), 202);
    for (let i = 0; i < 60 && (await reports()) === 0; i++) await new Promise((r) => setTimeout(r, 1_000));
  }
  const [latest] = must('GET weekly reports', await call('GET', '/v1/reports/weekly', keys.manager), 200).reports as Array<{
    id: number;
    status: string;
  }>;
  if (latest) report = `weekly report ${latest.id} (${latest.status})`;

  const aging = figures.aging as Array<{ bucket: string; cases: number }>;
  const r = figures.recovery as { recoveredMinor: number; targetMinor: number | null; ratio: number | null };
  const byStage = figures.byStage as Record<string, number>;
  return {
    seededNow: !done,
    cases: CASES,
    payments,
    closed: byStage.paid ?? 0,
    seconds: Math.round((Date.now() - started) / 1000),
    openCases: Number(figures.openCases),
    aging: aging.map((b) => `${b.bucket}: ${b.cases}`).join(', '),
    recovery:
      `${formatAmount(r.recoveredMinor, 'CNY')} recovered this month` +
      (r.targetMinor !== null ? ` of ${formatAmount(r.targetMinor, 'CNY')} (${Math.round((r.ratio ?? 0) * 100)} %)` : ''),
    ...(report ? { report } : {}),
  };
}
