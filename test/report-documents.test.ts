import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// The Friday report's documents (issue 14), pure: the PDF in both languages (its text, and its charts seen as
// pixels of page 1), and the HTML pages (three charts with data, no script, everything escaped).
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { extractText, renderPageAsImage } from 'unpdf';
import { describe, expect, it } from 'vitest';
import { CHART_BOXES, renderWeeklyReportPdf } from '../activities/documents/report';
import { portfolioHtml, weeklyReportHtml } from '../api/pages';
import { agingBars, formatReportMoney, percent, recoveryVsTarget, toSvg, weeklyTrend } from '../shared/charts';
import type { AgingBucket, PortfolioFigures, TrendWeek, WeeklyFigures } from '../db/figures';

const BUCKETS: AgingBucket[] = ['1-3', '4-7', '8-30', '31-60', '61-90', '91+'];
const DAY = 86_400_000;
/** The week ends Friday 13 March 2026 17:00 in Shanghai (09:00 UTC). */
const WEEK_END = Date.parse('2026-03-13T09:00:00.000Z');

function trend(f: (i: number) => Omit<TrendWeek, 'weekStart' | 'weekEnd'>): TrendWeek[] {
  return Array.from({ length: 8 }, (_, i) => ({
    weekStart: new Date(WEEK_END - (8 - i) * 7 * DAY).toISOString(),
    weekEnd: new Date(WEEK_END - (7 - i) * 7 * DAY).toISOString(),
    ...f(i),
  }));
}

function figures(): PortfolioFigures {
  const outstanding = [1_250_000, 830_000, 2_400_000, 1_100_000, 560_000, 3_300_000];
  return {
    aging: BUCKETS.map((bucket, i) => ({ bucket, cases: i + 2, outstandingMinor: outstanding[i]! })),
    openCases: 27,
    overdueMinor: 9_440_000,
    repayments: { count: 7, amountMinor: 1_234_567 },
    recovery: { recoveredMinor: 1_234_567, targetMinor: null, ratio: null },
    overdueRate: 0.1234,
    defaultRate: 0.0431,
    defaultedMinor: 3_300_000,
    promises: { made: 9, kept: 5 },
    cost: { costMinor: 54_000, casesInPeriod: 36, perCaseMinor: 1_500, perUnitRecovered: 0.0437, budgetMinor: null, ofBudget: null },
    byStage: { open: 27, legal: 3, paid: 6 },
    byTreatment: { collect: 30, litigate: 3, none: 3 },
    legal: [
      { status: 'requested', cases: 2, outstandingMinor: 700_000 },
      { status: 'filed', cases: 1, outstandingMinor: 450_000 },
    ],
    trend: trend((i) => ({ repaidMinor: (i + 1) * 150_000, payments: i + 1, opened: 3 + (i % 3), closed: 1 + (i % 2) })),
    rollRates: {
      from: new Date(WEEK_END - 7 * DAY).toISOString(),
      to: new Date(WEEK_END).toISOString(),
      rows: BUCKETS.map((bucket) => ({
        bucket,
        cases: 4,
        outstandingMinor: 400_000,
        to: { [bucket]: 2, '91+': 1, closed: 1 },
        rollForward: bucket === '91+' ? 0 : 0.25,
      })),
    },
  };
}

type Report = WeeklyFigures & { reportKey: string; snapshotNo: number; status: string };
const report = (): Report => ({
  week: { start: new Date(WEEK_END - 7 * DAY).toISOString(), end: new Date(WEEK_END).toISOString(), timeZone: 'Asia/Shanghai' },
  currency: 'CNY',
  figures: figures(),
  month: { start: '2026-03-01', recoveredMinor: 4_500_000, targetMinor: 10_000_000, ratio: 0.45 },
  reportKey: 'weekly-2026-03-13',
  snapshotNo: 2,
  status: 'approved by manager-1',
});

/** Nothing at all: no cases, no payments, no target, no snapshot from a week earlier. */
const empty = (): Report => ({
  ...report(),
  figures: {
    ...figures(),
    aging: BUCKETS.map((bucket) => ({ bucket, cases: 0, outstandingMinor: 0 })),
    openCases: 0,
    overdueMinor: 0,
    repayments: { count: 0, amountMinor: 0 },
    recovery: { recoveredMinor: 0, targetMinor: null, ratio: null },
    overdueRate: null,
    defaultRate: null,
    defaultedMinor: 0,
    promises: { made: 0, kept: 0 },
    cost: { costMinor: 0, casesInPeriod: 0, perCaseMinor: null, perUnitRecovered: null, budgetMinor: null, ofBudget: null },
    byStage: {},
    byTreatment: {},
    legal: [],
    trend: trend(() => ({ repaidMinor: 0, payments: 0, opened: 0, closed: 0 })),
    rollRates: null,
  },
  month: { start: '2026-03-01', recoveredMinor: 0, targetMinor: null, ratio: null },
});

const squeeze = (s: string) => s.replace(/\s+/g, '');

async function renderAndRead(r: Report, language: 'zh-CN' | 'en') {
  const out = await renderWeeklyReportPdf(r, language);
  expect(out.pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  const { text, totalPages } = await extractText(new Uint8Array(out.pdf), { mergePages: true });
  expect(totalPages).toBe(2);
  // Apart from whitespace, the PDF carries exactly the strings the renderer says it placed, in that order.
  expect(squeeze(text)).toBe(squeeze(out.text));
  return { ...out, extracted: text };
}

// pdf.js (in unpdf) serialises font info with ArrayBuffer.prototype.transferToFixedLength, which Node 21 added; on
// Node 20 a copy does the same for it (the original buffer is not used again).
const buffers = ArrayBuffer.prototype as { transferToFixedLength?: (length?: number) => ArrayBuffer };
buffers.transferToFixedLength ??= function (this: ArrayBuffer, length?: number) {
  return this.slice(0, length ?? this.byteLength);
};

const SCALE = 2;
const SHOTS = path.join(process.cwd(), '.data', 'screenshots');
let kept = 0;
/**
 * Page 1 as pixels, and per chart box (CHART_BOXES, PDF points → pixels at SCALE): how many pixels are not white
 * (anything drawn), and how many are coloured (the bars and lines: text, axes and the grey track are not).
 */
async function inkInChartBoxes(pdf: Buffer) {
  const png = await renderPageAsImage(new Uint8Array(pdf), 1, { canvasImport: () => import('@napi-rs/canvas'), scale: SCALE });
  // RECOUP_KEEP_PAGES=1 keeps the rendered pages for a look: .data/screenshots/report-pdf-<n>.png
  if (process.env.RECOUP_KEEP_PAGES) {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, `report-pdf-${++kept}.png`), Buffer.from(png));
  }
  const image = await loadImage(Buffer.from(png));
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const { data, width } = ctx.getImageData(0, 0, image.width, image.height);
  const count = (box: { x: number; y: number; width: number; height: number }) => {
    let drawn = 0;
    let coloured = 0;
    for (let py = Math.floor(box.y * SCALE); py < Math.ceil((box.y + box.height) * SCALE); py++) {
      for (let px = Math.floor(box.x * SCALE); px < Math.ceil((box.x + box.width) * SCALE); px++) {
        const i = (py * width + px) * 4;
        const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
        if (a === 0 || (r > 245 && g > 245 && b > 245)) continue;
        drawn++;
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
      }
    }
    return { drawn, coloured, area: box.width * box.height * SCALE * SCALE };
  };
  return { aging: count(CHART_BOXES.aging), recovery: count(CHART_BOXES.recovery), trend: count(CHART_BOXES.trend) };
}

describe('renderWeeklyReportPdf', () => {
  it('zh-CN: the Chinese headings and the totals, formatted', async () => {
    const r = await renderAndRead(report(), 'zh-CN');
    for (const needle of [
      '每周催收报告',
      '统计周期：2026-03-06 17:00 至 2026-03-13 17:00（Asia/Shanghai）',
      '汇总',
      '账龄分布',
      '回款与目标',
      '每周趋势',
      '迁徙率',
      '案件阶段',
      '法律程序',
      '未结案件\t27',
      '逾期余额\t¥94,400.00',
      '本周回款\t7笔，¥12,345.67',
      '本月回款与目标\t¥45,000.00 / ¥100,000.00 (45.0%)',
      '逾期率\t12.3%',
      '不良率（逾期91天以上）\t4.3% (¥33,000.00)',
      '还款承诺（作出/兑现）\t9 / 5',
      '单案成本\t¥15.00（36件）',
      '完成率 45.0%',
      '03-06',
      '报告编号 weekly-2026-03-13 · 快照 #2',
      '状态：approved by manager-1',
    ]) {
      expect(r.text, needle).toContain(needle);
      expect(squeeze(r.extracted), needle).toContain(squeeze(needle));
    }
  });

  it('en: the English headings and the totals, formatted', async () => {
    const r = await renderAndRead(report(), 'en');
    for (const needle of [
      'Weekly collection report',
      'Week: 2026-03-06 17:00 – 2026-03-13 17:00 (Asia/Shanghai)',
      'Summary',
      'Aging',
      'Recovery vs target',
      'Weekly trend',
      'Roll rates',
      'Bucket\tCases\t1-3\t4-7\t8-30\t31-60\t61-90\t91+\tClosed\tRoll forward',
      '8-30\t4\t0\t0\t2\t0\t0\t1\t1\t25.0%',
      'Open cases\t27',
      'Overdue balance\tCNY 94,400.00',
      'Repaid this week\t7 payments, CNY 12,345.67',
      "Month's recovery vs target\tCNY 45,000.00 / CNY 100,000.00 (45.0%)",
      'Default rate (91+ days)\t4.3% (CNY 33,000.00)',
      'Cost per case\tCNY 15.00 (36 cases)',
      'requested\t2\tCNY 7,000.00',
      '45.0% of target',
      'Report weekly-2026-03-13 · snapshot #2',
    ]) {
      expect(r.text, needle).toContain(needle);
      expect(squeeze(r.extracted), needle).toContain(squeeze(needle));
    }
  });

  it('page 1 has the three charts drawn, with their bars, where CHART_BOXES says', async () => {
    const full = await inkInChartBoxes((await renderWeeklyReportPdf(report(), 'zh-CN')).pdf);
    const none = await inkInChartBoxes((await renderWeeklyReportPdf(empty(), 'en')).pdf);
    for (const kind of ['aging', 'recovery', 'trend'] as const) {
      // Bars take a good part of each box; with no data the same box holds only labels and axes.
      expect(full[kind].drawn / full[kind].area, kind).toBeGreaterThan(0.05);
      expect(full[kind].coloured / full[kind].area, kind).toBeGreaterThan(0.03);
      expect(full[kind].coloured, kind).toBeGreaterThan(3 * none[kind].coloured);
    }
    // Without data: no bar in the aging and recovery charts, only the trend's legend and flat lines.
    expect(none.aging.coloured).toBe(0);
    expect(none.recovery.coloured).toBe(0);
    expect(none.trend.drawn).toBeGreaterThan(0);
  });

  it('an empty portfolio renders, says there is no target and no roll rates', async () => {
    const zh = await renderAndRead(empty(), 'zh-CN');
    expect(zh.text).toContain('本月回款与目标\t¥0.00 (未设目标)');
    expect(zh.text).toContain('没有一周前的账龄快照');
    expect(zh.text).toContain('逾期率\t—');
    const en = await renderAndRead(empty(), 'en');
    expect(en.text).toContain('no target set');
    expect(en.text).toContain('There is no aging snapshot from a week earlier');
  });

  it('refuses a character the font cannot print', async () => {
    await expect(renderWeeklyReportPdf({ ...report(), reportKey: 'weekly-😀' }, 'en')).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
  });
});

/** Each `<svg data-chart>` of a page and the data-values of its bars. */
function chartsOf(html: string) {
  return [...html.matchAll(/<svg [^>]*data-chart="(\w+)"[^>]*>([\s\S]*?)<\/svg>/g)].map((m) => ({
    chart: m[1],
    values: [...m[2]!.matchAll(/data-value="([\d.]+)"/g)].map((v) => Number(v[1])),
  }));
}

/** A page that works under `default-src 'none'; style-src 'unsafe-inline'; img-src data:`. */
function expectSelfContained(html: string) {
  expect(html.startsWith('<!doctype html>\n')).toBe(true);
  expect(html).toContain('<meta charset="utf-8">');
  expect(html).toContain('<meta name="color-scheme" content="light">');
  expect(html).not.toMatch(/<(script|link|img|iframe|object|embed|image|use|foreignObject)\b|url\(|@import/i);
  // No tag has an event handler or loads anything (text content is escaped, so every '<' starts a tag).
  for (const [tag] of html.matchAll(/<[^>]*>/g)) expect(tag, tag).not.toMatch(/\s(on\w+|src|srcset|xlink:href)=/i);
  // The only absolute URL is the SVG namespace, which loads nothing.
  expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:|\/\//);
}

describe('the report pages', () => {
  const links = { pdf: '12.pdf?lang=zh-CN', csv: '12.csv', other: '12.html?lang=en' };

  it('the weekly page: three charts with data, the totals, the links, no script', () => {
    for (const language of ['zh-CN', 'en'] as const) {
      const html = weeklyReportHtml(report(), language, links);
      expectSelfContained(html);
      const charts = chartsOf(html);
      expect(charts.map((c) => c.chart).sort()).toEqual(['aging', 'recovery', 'trend']);
      for (const c of charts) expect(Math.max(0, ...c.values), c.chart).toBeGreaterThan(0);
      expect(html).toContain('href="12.pdf?lang=zh-CN"');
      expect(html).toContain('href="12.html?lang=en"');
      expect(html).toMatch(/role="img" aria-label="[^"]+"/);
    }
    const zh = weeklyReportHtml(report(), 'zh-CN', links);
    for (const needle of ['<html lang="zh-CN">', '每周催收报告', '账龄分布', '¥94,400.00', '¥45,000.00 / ¥100,000.00 (45.0%)', '迁徙率']) {
      expect(zh).toContain(needle);
    }
    const en = weeklyReportHtml(report(), 'en', links);
    expect(en).toContain('Weekly collection report');
    expect(en).toContain('CNY 12,345.67');
  });

  it('the portfolio page: the period recovery against its target, escaped team id', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const p = {
      ...figures(),
      recovery: { recoveredMinor: 1_234_567, targetMinor: 5_000_000, ratio: 0.2469 },
      byStage: { '<script>alert(1)</script>': 1 },
      asOf: new Date(WEEK_END).toISOString(),
      period: { kind: 'month', start: '2026-03-01', end: '2026-04-01', timeZone: 'Asia/Shanghai' },
      teamId: hostile,
    };
    const html = portfolioHtml(p, 'en');
    expectSelfContained(html);
    expect(html).toContain('Team: &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Period: 2026-03-01 – 2026-03-31');
    expect(html).toContain('CNY 12,345.67 / CNY 50,000.00 (24.7%)');
    expect(html).toContain(`href="portfolio.html?lang=zh-CN&amp;period=month&amp;timeZone=Asia%2FShanghai&amp;teamId=`);
    const charts = chartsOf(html);
    expect(charts.map((c) => c.chart).sort()).toEqual(['aging', 'recovery', 'trend']);
    expect(charts.find((c) => c.chart === 'recovery')!.values).toEqual([1_234_567]);
  });

  it('an empty portfolio: no target set, no roll rates, and still three charts', () => {
    const e = empty();
    const html = portfolioHtml(
      { ...e.figures, asOf: e.week.end, period: { kind: 'month', start: '2026-03-01', end: '2026-04-01', timeZone: 'UTC' } },
      'zh-CN',
    );
    expectSelfContained(html);
    expect(html).toContain('未设目标');
    expect(html).toContain('没有一周前的账龄快照');
    expect(chartsOf(html)).toHaveLength(3);
  });
});

describe('the chart model', () => {
  it('escapes every text of an SVG, its title included', () => {
    const svg = toSvg(agingBars([{ bucket: '<b>', cases: 1, outstandingMinor: 100 }], { currency: 'CNY', caption: '"&"', cases: String }), {
      title: `<script>'x'</script>`,
    });
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('aria-label="&lt;script&gt;&#39;x&#39;&lt;/script&gt;"');
    expect(svg).toContain('&quot;&amp;&quot;');
    expect(svg).toContain('data-chart="aging"');
    expect(svg).toContain('data-value="100"');
  });

  it('recovery without a target still draws the recovered bar and says there is none', () => {
    const labels = { money: String, recovered: 'Recovered', target: 'Target', noTarget: 'no target set', ofTarget: (p: string) => p };
    const svg = toSvg(recoveryVsTarget(2_500, null, labels), { title: 'Recovery' });
    expect(svg).toMatch(/<rect x="10" y="26" width="460" height="20" fill="#2f855a" data-value="2500"\/>/);
    expect(svg).toContain('>no target set</text>');
    // Beyond the target: a full bar, the target line within it, and the ratio above 100 %.
    const over = toSvg(recoveryVsTarget(3_000, 2_000, labels), { title: 'Recovery' });
    expect(over).toContain('width="460" height="20" fill="#2f855a"');
    expect(over).toContain('<line x1="316.67"');
    expect(over).toContain('>150.0%</text>');
  });

  it('a trend without weeks says there is no data; money and percentages print exactly', () => {
    const chart = weeklyTrend([], {
      currency: 'CNY',
      timeZone: 'UTC',
      repaid: 'Repaid',
      opened: 'Opened',
      closed: 'Closed',
      noData: 'No data',
    });
    expect(toSvg(chart, { title: 't' })).toContain('>No data</text>');
    expect(formatReportMoney(Number.MAX_SAFE_INTEGER, 'CNY', 'zh-CN')).toBe('¥90,071,992,547,409.91');
    expect(formatReportMoney(5, 'JPY', 'en')).toBe('JPY 5');
    expect(percent(0.4567)).toBe('45.7%');
    expect(percent(null)).toBe('—');
  });
});
