/**
 * The report's charts and text (issue 14), pure: the PDF (activities/documents/report.ts) and the HTML pages
 * (api/pages.ts) draw the same charts from one model, and print the same headings and tables.
 *
 * - A chart is a list of drawing primitives in a fixed box of user units (y down, text `y` is the baseline):
 *   `toSvg` writes it as an inline `<svg>`, the PDF renderer maps each primitive to pdfkit calls.
 * - Every text (labels, headings) comes in as a parameter, so the same chart renders in zh-CN and en.
 * - Money stays integer minor units; only bar lengths and percentages are floating point, for display.
 *
 * shared/ imports no layer, so the figures' shapes are declared here structurally (db/figures.ts's
 * PortfolioFigures and WeeklyFigures fit them).
 */
import { localDate, localTime } from './calendar';
import { formatMinor } from './money';

export type ReportLanguage = 'zh-CN' | 'en';

// ---------------------------------------------------------------------------------------------
// The chart model

type Anchor = 'start' | 'middle' | 'end';
type Shape =
  /** `value` marks a data bar (data-value in the SVG). */
  | { kind: 'rect'; x: number; y: number; width: number; height: number; fill: string; value?: number }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; strokeWidth: number; dash?: number }
  | { kind: 'polyline'; points: Array<[number, number]>; stroke: string; strokeWidth: number }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string; value?: number }
  | { kind: 'text'; x: number; y: number; text: string; size: number; fill: string; anchor: Anchor; bold?: boolean };

export interface Chart {
  kind: 'aging' | 'recovery' | 'trend';
  width: number;
  height: number;
  shapes: Shape[];
}

const INK = '#1a202c';
const MUTED = '#4a5568';
const GRID = '#cbd5e0';
const TRACK = '#e2e8f0';
const BAR = '#2b6cb0';
const DEFAULTED = '#c53030';
const RECOVERED = '#2f855a';
const OPENED = '#dd6b20';
const CLOSED = '#6b46c1';

/** `bar` of `max` as a length of `full` (display only); 0 when there is nothing to compare. */
const share = (bar: number, max: number, full: number) => (max > 0 ? (Math.max(0, bar) / max) * full : 0);
const text = (x: number, y: number, s: string, size: number, anchor: Anchor = 'start', fill = INK, bold = false): Shape => ({
  kind: 'text',
  x,
  y,
  text: s,
  size,
  fill,
  anchor,
  ...(bold ? { bold } : {}),
});

interface AgingBar {
  bucket: string;
  cases: number;
  outstandingMinor: number;
}

/** Bars of the outstanding balance per aging bucket, each labelled with its amount and its count of cases. */
export function agingBars(aging: AgingBar[], labels: { currency: string; caption: string; cases(n: number): string }): Chart {
  const width = 480;
  const height = 190;
  const [left, right, top, base] = [12, 468, 40, 150];
  const slot = (right - left) / Math.max(1, aging.length);
  const barWidth = Math.min(44, slot * 0.7);
  const max = Math.max(0, ...aging.map((a) => a.outstandingMinor));
  const shapes: Shape[] = [text(left, 14, labels.caption, 9, 'start', MUTED)];
  aging.forEach((a, i) => {
    const cx = left + slot * (i + 0.5);
    const h = share(a.outstandingMinor, max, base - top);
    const fill = a.bucket === '91+' ? DEFAULTED : BAR;
    shapes.push({ kind: 'rect', x: cx - barWidth / 2, y: base - h, width: barWidth, height: h, fill, value: a.outstandingMinor });
    shapes.push(text(cx, base - h - 4, formatMinor(a.outstandingMinor, labels.currency), 8, 'middle'));
    shapes.push(text(cx, base + 14, a.bucket, 9, 'middle', INK, true));
    shapes.push(text(cx, base + 27, labels.cases(a.cases), 8.5, 'middle', MUTED));
  });
  shapes.push({ kind: 'line', x1: left, y1: base, x2: right, y2: base, stroke: INK, strokeWidth: 1 });
  return { kind: 'aging', width, height, shapes };
}

/**
 * A horizontal bar of what was recovered against the target, with the target as a line and the ratio as a
 * percentage. Without a target the recovered bar still shows, and the chart says there is none.
 */
export function recoveryVsTarget(
  recoveredMinor: number,
  targetMinor: number | null,
  labels: { money(minor: number): string; recovered: string; target: string; noTarget: string; ofTarget(percent: string): string },
): Chart {
  const width = 480;
  const height = 74;
  const [left, right, top, barHeight] = [10, 470, 26, 20];
  const full = right - left;
  const max = Math.max(recoveredMinor, targetMinor ?? 0);
  const shapes: Shape[] = [
    text(left, 16, `${labels.recovered} ${labels.money(recoveredMinor)}`, 10, 'start', INK, true),
    text(right, 16, targetMinor === null ? labels.noTarget : `${labels.target} ${labels.money(targetMinor)}`, 10, 'end'),
    { kind: 'rect', x: left, y: top, width: full, height: barHeight, fill: TRACK },
    { kind: 'rect', x: left, y: top, width: share(recoveredMinor, max, full), height: barHeight, fill: RECOVERED, value: recoveredMinor },
  ];
  if (targetMinor !== null) {
    const tx = left + share(targetMinor, max, full);
    shapes.push({ kind: 'line', x1: tx, y1: top - 4, x2: tx, y2: top + barHeight + 4, stroke: INK, strokeWidth: 2 });
    shapes.push(text(left, 64, labels.ofTarget(percent(targetMinor > 0 ? recoveredMinor / targetMinor : null)), 9, 'start', MUTED));
  }
  return { kind: 'recovery', width, height, shapes };
}

interface TrendPoint {
  weekStart: string;
  repaidMinor: number;
  opened: number;
  closed: number;
}

/**
 * Bars of what was repaid each week (left axis, money) and lines of the cases opened and closed (right axis,
 * counts); each week is labelled by its first day (MM-DD in `timeZone`).
 */
export function weeklyTrend(
  trend: TrendPoint[],
  labels: { currency: string; timeZone: string; repaid: string; opened: string; closed: string; noData: string },
): Chart {
  const width = 480;
  const height = 200;
  const [left, right, top, base] = [66, 438, 34, 166];
  const slot = (right - left) / Math.max(1, trend.length);
  const barWidth = Math.min(28, slot * 0.6);
  const maxMoney = Math.max(0, ...trend.map((w) => w.repaidMinor));
  const maxCount = Math.max(0, ...trend.flatMap((w) => [w.opened, w.closed]));
  const legend = (x: number, color: string, label: string, line: boolean): Shape[] => [
    line
      ? { kind: 'line', x1: x, y1: 10, x2: x + 14, y2: 10, stroke: color, strokeWidth: 2 }
      : { kind: 'rect', x, y: 4, width: 12, height: 10, fill: color },
    text(x + 18, 14, label, 9),
  ];
  const shapes: Shape[] = [
    ...legend(left, BAR, `${labels.repaid} (${labels.currency})`, false),
    ...legend(left + 150, OPENED, labels.opened, true),
    ...legend(left + 260, CLOSED, labels.closed, true),
    { kind: 'line', x1: left, y1: top, x2: right, y2: top, stroke: GRID, strokeWidth: 0.5, dash: 3 },
    text(left - 4, top + 3, formatMinor(maxMoney, labels.currency), 8, 'end', MUTED),
    text(left - 4, base + 3, formatMinor(0, labels.currency), 8, 'end', MUTED),
    text(right + 4, top + 3, String(maxCount), 8, 'start', MUTED),
    text(right + 4, base + 3, '0', 8, 'start', MUTED),
  ];
  if (trend.length === 0) shapes.push(text((left + right) / 2, (top + base) / 2, labels.noData, 10, 'middle', MUTED));
  const cx = (i: number) => left + slot * (i + 0.5);
  const countY = (n: number) => base - share(n, maxCount, base - top);
  trend.forEach((w, i) => {
    const h = share(w.repaidMinor, maxMoney, base - top);
    shapes.push({ kind: 'rect', x: cx(i) - barWidth / 2, y: base - h, width: barWidth, height: h, fill: BAR, value: w.repaidMinor });
    shapes.push(text(cx(i), base + 14, localDate(Date.parse(w.weekStart), labels.timeZone).slice(5), 8.5, 'middle', MUTED));
  });
  for (const [key, color] of [
    ['opened', OPENED],
    ['closed', CLOSED],
  ] as const) {
    if (trend.length === 0) continue;
    shapes.push({ kind: 'polyline', points: trend.map((w, i) => [cx(i), countY(w[key])]), stroke: color, strokeWidth: 1.5 });
    trend.forEach((w, i) => shapes.push({ kind: 'circle', cx: cx(i), cy: countY(w[key]), r: 2.5, fill: color, value: w[key] }));
  }
  shapes.push({ kind: 'line', x1: left, y1: base, x2: right, y2: base, stroke: INK, strokeWidth: 1 });
  return { kind: 'trend', width, height, shapes };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text for HTML or SVG, in element content or in a quoted attribute. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
/** A coordinate as written in the SVG: finite, at most two decimals. */
const n = (v: number) => String(Number.isFinite(v) ? Math.round(v * 100) / 100 : 0);

const FONT_FAMILY = "'Noto Sans SC','Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif";

/** The chart as a standalone `<svg>` (inline in a page: no script, nothing loaded), titled for screen readers. */
export function toSvg(chart: Chart, options: { title: string }): string {
  const title = escapeHtml(options.title);
  const body = chart.shapes.map((s) => {
    const value = 'value' in s && s.value !== undefined ? ` data-value="${n(s.value)}"` : '';
    switch (s.kind) {
      case 'rect':
        return `<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.width)}" height="${n(s.height)}" fill="${escapeHtml(s.fill)}"${value}/>`;
      case 'line':
        return (
          `<line x1="${n(s.x1)}" y1="${n(s.y1)}" x2="${n(s.x2)}" y2="${n(s.y2)}" stroke="${escapeHtml(s.stroke)}" ` +
          `stroke-width="${n(s.strokeWidth)}"${s.dash ? ` stroke-dasharray="${n(s.dash)}"` : ''}/>`
        );
      case 'polyline':
        return (
          `<polyline points="${s.points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}" fill="none" ` +
          `stroke="${escapeHtml(s.stroke)}" stroke-width="${n(s.strokeWidth)}"/>`
        );
      case 'circle':
        return `<circle cx="${n(s.cx)}" cy="${n(s.cy)}" r="${n(s.r)}" fill="${escapeHtml(s.fill)}"${value}/>`;
      case 'text':
        return (
          `<text x="${n(s.x)}" y="${n(s.y)}" font-size="${n(s.size)}" fill="${escapeHtml(s.fill)}" text-anchor="${s.anchor}"` +
          `${s.bold ? ' font-weight="bold"' : ''}>${escapeHtml(s.text)}</text>`
        );
    }
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n(chart.width)} ${n(chart.height)}" width="${n(chart.width)}" ` +
    `height="${n(chart.height)}" role="img" aria-label="${title}" data-chart="${chart.kind}" font-family="${escapeHtml(FONT_FAMILY)}" ` +
    `style="width:100%;height:auto"><title>${title}</title>${body.join('')}</svg>`
  );
}

// ---------------------------------------------------------------------------------------------
// The report's text: headings, labels and tables, the same in the PDF and on the page

/** A ratio as a percentage with one decimal ('45.6%'), or '—' when there is none. */
export function percent(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(1)}%`;
}

/** An amount as printed in a report (as on the letters): '¥12,345.67' (zh-CN, CNY), 'CNY 12,345.67' (en). */
export function formatReportMoney(minor: number, currency: string, language: ReportLanguage): string {
  const number = formatMinor(minor, currency);
  return language === 'zh-CN' && currency === 'CNY' ? `¥${number}` : `${currency} ${number}`;
}

/** The local date and time of an instant: '2026-03-13 17:00'. */
export function localDateTime(instant: string, timeZone: string): string {
  const ms = Date.parse(instant);
  return `${localDate(ms, timeZone)} ${localTime(ms, timeZone)}`;
}

/** A weekly report's status as printed on it, in its language and time zone: the status, who approved and checked it, when. */
export function reportStatusLine(
  r: { status: string; approved_by: string | null; approved_at: Date | null; checked_by: string | null; checked_at: Date | null },
  language: ReportLanguage,
  timeZone: string,
): string {
  const zh = language === 'zh-CN';
  const names: Record<string, string> = zh
    ? { 'awaiting-approval': '待经理审批', 'awaiting-check': '待财务复核', done: '已审批并复核' }
    : { 'awaiting-approval': "awaiting a manager's approval", 'awaiting-check': "awaiting finance's check", done: 'approved and checked' };
  const at = (d: Date | null) =>
    d ? (zh ? `（${localDateTime(d.toISOString(), timeZone)}）` : ` (${localDateTime(d.toISOString(), timeZone)})`) : '';
  const who = (what: string, by: string | null, when: Date | null) => (by ? `${what}${by}${at(when)}` : '');
  const parts = [
    names[r.status] ?? r.status,
    who(zh ? '审批：' : 'approved by ', r.approved_by, r.approved_at),
    who(zh ? '复核：' : 'checked by ', r.checked_by, r.checked_at),
  ].filter(Boolean);
  return parts.join(zh ? '；' : '; ');
}

const ZH_NAMES: Readonly<Record<string, string>> = {
  // stages
  open: '催收中',
  legal: '法律程序',
  restructured: '已重组',
  paid: '已结清',
  settled: '和解结案',
  'written-off': '已核销',
  'legal-closed': '法律程序结案',
  // treatments
  collect: '催收',
  restructure: '重组',
  'settle-in-kind': '以物抵债',
  litigate: '诉讼',
  none: '无',
  // legal referrals
  requested: '已申请',
  approved: '已批准',
  filed: '已立案',
  mediated: '已调解',
  judgment: '已判决',
  closed: '已结束',
};

/** English names of the codes that are not plain words already. */
const EN_NAMES: Readonly<Record<string, string>> = {
  'written-off': 'written off',
  'legal-closed': 'legal, closed',
  'settle-in-kind': 'settlement in kind',
  legal: 'in legal proceedings',
  judgment: 'judgment given',
};

const TEXT = {
  'zh-CN': {
    weeklyTitle: '每周催收报告',
    portfolioTitle: '组合概况',
    week: (start: string, end: string, tz: string) => `统计周期：${start} 至 ${end}（${tz}）`,
    asOf: (at: string, tz: string) => `截至 ${at}（${tz}）`,
    period: (start: string, end: string) => `本期：${start} 至 ${end}`,
    team: (id: string) => `团队：${id}`,
    summary: '汇总',
    aging: '账龄分布',
    recovery: '回款与目标',
    trend: '每周趋势',
    rollRates: '迁徙率',
    stages: '案件阶段',
    treatments: '处置方式',
    legal: '法律程序',
    noRollRates: '没有一周前的账龄快照，暂无迁徙率。',
    rollRatesPeriod: (from: string, to: string) => `${from} 至 ${to}`,
    figure: '指标',
    value: '数值',
    openCases: '未结案件',
    overdue: '逾期余额',
    repaidWeek: '本周回款',
    repaidPeriod: '本期回款',
    recoveryMonth: '本月回款与目标',
    recoveryPeriod: '本期回款与目标',
    overdueRate: '逾期率',
    defaultRate: '不良率（逾期91天以上）',
    promises: '还款承诺（作出/兑现）',
    cost: '催收成本',
    costPerCase: '单案成本',
    payments: (count: number, amount: string) => `${count}笔，${amount}`,
    casesOf: (cost: string, cases: number) => `${cost}（${cases}件）`,
    noTarget: '未设目标',
    ofTarget: (p: string) => `完成率 ${p}`,
    recovered: '已回款',
    target: '目标',
    agingCaption: (currency: string) => `逾期天数（金额单位：${currency}）`,
    cases: (count: number) => `${count}件`,
    repaid: '回款',
    opened: '新增案件',
    closed: '结案',
    noData: '暂无数据',
    bucket: '账龄',
    casesCol: '案件数',
    outstanding: '余额',
    closedCol: '已结案',
    rollForward: '前滚率',
    stage: '阶段',
    treatment: '处置方式',
    status: '状态',
    none: '无',
    name: (key: string) => ZH_NAMES[key] ?? key,
    footer: (key: string, n: number) => `报告编号 ${key} · 快照 #${n}`,
    statusLine: (s: string) => `状态：${s}`,
    pdf: 'PDF',
    csv: 'CSV',
    otherLanguage: 'English',
    experiments: '冠军/挑战者实验',
    experimentHeader: ['组别', '策略', '案件', '30 天回收率', '90 天回收率', '每元回款成本', '违约承诺', '结案中位天数'],
    arm: (a: string) => (a === 'challenger' ? '挑战者' : '冠军'),
    difference: (day: number, v: string, lo: string, hi: string) => `${day} 天回收率差（挑战者 − 冠军）：${v}，95% 置信区间 ${lo} 至 ${hi}`,
    noDifference: (day: number) => `${day} 天回收率差：逾期满 ${day} 天的案件每组不足两件`,
    experimentStatus: (st: string) => (st === 'ended' ? '已结束' : '进行中'),
  },
  en: {
    weeklyTitle: 'Weekly collection report',
    portfolioTitle: 'Portfolio today',
    week: (start: string, end: string, tz: string) => `Week: ${start} – ${end} (${tz})`,
    asOf: (at: string, tz: string) => `As of ${at} (${tz})`,
    period: (start: string, end: string) => `Period: ${start} – ${end}`,
    team: (id: string) => `Team: ${id}`,
    summary: 'Summary',
    aging: 'Aging',
    recovery: 'Recovery vs target',
    trend: 'Weekly trend',
    rollRates: 'Roll rates',
    stages: 'Cases by stage',
    treatments: 'Cases by treatment',
    legal: 'Legal pipeline',
    noRollRates: 'There is no aging snapshot from a week earlier: no roll rates yet.',
    rollRatesPeriod: (from: string, to: string) => `${from} – ${to}`,
    figure: 'Figure',
    value: 'Value',
    openCases: 'Open cases',
    overdue: 'Overdue balance',
    repaidWeek: 'Repaid this week',
    repaidPeriod: 'Repaid in the period',
    recoveryMonth: "Month's recovery vs target",
    recoveryPeriod: 'Recovery vs target',
    overdueRate: 'Overdue rate',
    defaultRate: 'Default rate (91+ days)',
    promises: 'Promises made / kept',
    cost: 'Cost',
    costPerCase: 'Cost per case',
    payments: (count: number, amount: string) => `${count} ${count === 1 ? 'payment' : 'payments'}, ${amount}`,
    casesOf: (cost: string, cases: number) => `${cost} (${cases} ${cases === 1 ? 'case' : 'cases'})`,
    noTarget: 'no target set',
    ofTarget: (p: string) => `${p} of target`,
    recovered: 'Recovered',
    target: 'Target',
    agingCaption: (currency: string) => `Days overdue (amounts in ${currency})`,
    cases: (count: number) => `${count} ${count === 1 ? 'case' : 'cases'}`,
    repaid: 'Repaid',
    opened: 'Opened',
    closed: 'Closed',
    noData: 'No data',
    bucket: 'Bucket',
    casesCol: 'Cases',
    outstanding: 'Outstanding',
    closedCol: 'Closed',
    rollForward: 'Roll forward',
    stage: 'Stage',
    treatment: 'Treatment',
    status: 'Status',
    none: 'none',
    name: (key: string) => EN_NAMES[key] ?? key,
    footer: (key: string, n: number) => `Report ${key} · snapshot #${n}`,
    statusLine: (s: string) => `Status: ${s}`,
    pdf: 'PDF',
    csv: 'CSV',
    otherLanguage: '中文',
    experiments: 'Champion/challenger experiments',
    experimentHeader: [
      'Arm',
      'Playbook',
      'Cases',
      'Recovery, day 30',
      'Recovery, day 90',
      'Cost per unit recovered',
      'Broken promises',
      'Median days to close',
    ],
    arm: (a: string) => a,
    difference: (day: number, v: string, lo: string, hi: string) =>
      `Recovery at day ${day}, challenger − champion: ${v}, 95 % interval ${lo} to ${hi}`,
    noDifference: (day: number) => `Recovery at day ${day}: fewer than two cases in an arm are ${day} days into their delinquency`,
    experimentStatus: (st: string) => st,
  },
} as const;

/** The headings and labels of the report in a language. */
export const reportText = (language: ReportLanguage) => TEXT[language];

interface RollRowView {
  bucket: string;
  cases: number;
  to: Partial<Record<string, number>>;
  rollForward: number | null;
}
/** The figures the report prints (db/figures.ts's PortfolioFigures). */
interface ReportFigures {
  aging: AgingBar[];
  openCases: number;
  overdueMinor: number;
  repayments: { count: number; amountMinor: number };
  overdueRate: number | null;
  defaultRate: number | null;
  defaultedMinor: number;
  promises: { made: number; kept: number };
  cost: { costMinor: number; casesInPeriod: number; perCaseMinor: number | null; budgetMinor: number | null; ofBudget: number | null };
  byStage: Record<string, number>;
  byTreatment: Record<string, number>;
  legal: Array<{ status: string; cases: number; outstandingMinor: number }>;
  trend: TrendPoint[];
  rollRates: { from: string; to: string; rows: RollRowView[] } | null;
}
interface Recovery {
  recoveredMinor: number;
  targetMinor: number | null;
  ratio: number | null;
}
/** A table: its header and rows of cells. */
export interface Table {
  header: string[];
  rows: string[][];
}

const BUCKETS = ['1-3', '4-7', '8-30', '31-60', '61-90', '91+'] as const;
const ORDER = [...Object.keys(ZH_NAMES)];
const byKnownOrder = (a: string, b: string) =>
  (ORDER.indexOf(a) === -1 ? ORDER.length : ORDER.indexOf(a)) - (ORDER.indexOf(b) === -1 ? ORDER.length : ORDER.indexOf(b)) ||
  a.localeCompare(b);

/**
 * Everything the report prints from its figures: the three charts and the tables. `scope` says whether the
 * recovery is the month's of a weekly report (and the repayments the week's) or the period's of the portfolio page.
 */
export function reportContent(
  f: ReportFigures,
  o: { recovery: Recovery; scope: 'week' | 'period'; currency: string; timeZone: string; language: ReportLanguage },
) {
  const t = reportText(o.language);
  const money = (minor: number) => formatReportMoney(minor, o.currency, o.language);
  const r = o.recovery;
  const charts = {
    aging: agingBars(f.aging, { currency: o.currency, caption: t.agingCaption(o.currency), cases: t.cases }),
    recovery: recoveryVsTarget(r.recoveredMinor, r.targetMinor, {
      money,
      recovered: t.recovered,
      target: t.target,
      noTarget: t.noTarget,
      ofTarget: t.ofTarget,
    }),
    trend: weeklyTrend(f.trend, {
      currency: o.currency,
      timeZone: o.timeZone,
      repaid: t.repaid,
      opened: t.opened,
      closed: t.closed,
      noData: t.noData,
    }),
  };
  const c = f.cost;
  const totals: Table = {
    header: [t.figure, t.value],
    rows: [
      [t.openCases, String(f.openCases)],
      [t.overdue, money(f.overdueMinor)],
      [o.scope === 'week' ? t.repaidWeek : t.repaidPeriod, t.payments(f.repayments.count, money(f.repayments.amountMinor))],
      [
        o.scope === 'week' ? t.recoveryMonth : t.recoveryPeriod,
        r.targetMinor === null
          ? `${money(r.recoveredMinor)} (${t.noTarget})`
          : `${money(r.recoveredMinor)} / ${money(r.targetMinor)} (${percent(r.ratio)})`,
      ],
      [t.overdueRate, percent(f.overdueRate)],
      [t.defaultRate, `${percent(f.defaultRate)} (${money(f.defaultedMinor)})`],
      [t.promises, `${f.promises.made} / ${f.promises.kept}`],
      [t.cost, c.budgetMinor === null ? money(c.costMinor) : `${money(c.costMinor)} / ${money(c.budgetMinor)} (${percent(c.ofBudget)})`],
      [t.costPerCase, c.perCaseMinor === null ? '—' : t.casesOf(money(c.perCaseMinor), c.casesInPeriod)],
    ],
  };
  const rollRates: Table | null = f.rollRates && {
    header: [t.bucket, t.casesCol, ...BUCKETS, t.closedCol, t.rollForward],
    rows: f.rollRates.rows.map((row) => [
      row.bucket,
      String(row.cases),
      ...[...BUCKETS, 'closed'].map((b) => String(row.to[b] ?? 0)),
      percent(row.rollForward),
    ]),
  };
  const counts = (head: string, m: Record<string, number>): Table => ({
    header: [head, t.casesCol],
    rows: Object.keys(m)
      .sort(byKnownOrder)
      .map((k) => [t.name(k), String(m[k])]),
  });
  const legal: Table = {
    header: [t.status, t.casesCol, t.outstanding],
    rows: [...f.legal]
      .sort((a, b) => byKnownOrder(a.status, b.status))
      .map((l) => [t.name(l.status), String(l.cases), money(l.outstandingMinor)]),
  };
  return {
    charts,
    totals,
    rollRates,
    rollRatesPeriod:
      f.rollRates && t.rollRatesPeriod(localDateTime(f.rollRates.from, o.timeZone), localDateTime(f.rollRates.to, o.timeZone)),
    stages: counts(t.stage, f.byStage),
    treatments: counts(t.treatment, f.byTreatment),
    legal,
  };
}
