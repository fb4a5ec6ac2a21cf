/**
 * The Friday report as a PDF (issue 14), in Simplified Chinese or English, with the letters' renderer and font
 * (pdfkit, Noto Sans SC from @embedpdf/fonts-sc, embedded as a subset so the text can be extracted).
 *
 * - Page 1: the title, the week (in the portfolio's time zone), the totals, and the three charts (aging, recovery
 *   against the month's target, the 8-week trend) drawn as vector graphics from shared/charts.ts, the same model the
 *   HTML page draws as SVG. Page 2: roll rates, cases by stage and treatment, the legal pipeline.
 * - Every page ends with the report key, the snapshot number and the status.
 * - `text` is every string placed, in order, one per line (a table row's cells joined by a tab), for the audit trail.
 */
import PDFDocument from 'pdfkit';
import { ApplicationFailure } from '@temporalio/common';
import { localDateTime, reportContent, reportText, type Chart, type ReportLanguage, type Table } from '../../shared/charts';
import { ErrorTypes } from '../../shared/errors';
import type { WeeklyFigures } from '../../db/figures';
import { loadFonts, toBuffer } from './render';

type ReportInput = WeeklyFigures & { reportKey: string; snapshotNo: number; status: string };

const PAGE = { width: 595.28, height: 841.89, left: 50, right: 50, top: 44, bottom: 60 } as const;
const CONTENT_WIDTH = PAGE.width - PAGE.left - PAGE.right;
const SIZE = { title: 18, meta: 9.5, heading: 11, table: 9, small: 8, footer: 7.5 } as const;
const HEADING_HEIGHT = 18;
const ROW_HEIGHT = 13.5;

/** Where page 1 holds each chart, in PDF points from the page's top-left corner (the charts' own boxes at scale 1). */
export const CHART_BOXES = (() => {
  const x = PAGE.left + (CONTENT_WIDTH - 480) / 2;
  const aging = { page: 1, x, y: 276, width: 480, height: 190 };
  const recovery = { page: 1, x, y: aging.y + aging.height + 6 + HEADING_HEIGHT, width: 480, height: 74 };
  const trend = { page: 1, x, y: recovery.y + recovery.height + 6 + HEADING_HEIGHT, width: 480, height: 200 };
  return { aging, recovery, trend } as const;
})();

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorTypes.InvalidInput);
}

/** Refuses a string the font cannot print rather than printing a blank box (as the letters do). */
function checkPrintable(s: string): string {
  const { covers } = loadFonts();
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (!covers(cp)) {
      throw invalidInput(`the report's font has no glyph for ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`);
    }
  }
  return s;
}

/** Draws a chart of the model at (x, y) in points, `scale` points per chart unit; returns the strings it placed. */
function drawChart(doc: PDFKit.PDFDocument, chart: Chart, x: number, y: number, scale: number): string[] {
  const placed: string[] = [];
  const px = (v: number) => x + v * scale;
  const py = (v: number) => y + v * scale;
  doc.save();
  for (const s of chart.shapes) {
    switch (s.kind) {
      case 'rect':
        if (s.width > 0 && s.height > 0) doc.rect(px(s.x), py(s.y), s.width * scale, s.height * scale).fill(s.fill);
        break;
      case 'line':
        doc
          .moveTo(px(s.x1), py(s.y1))
          .lineTo(px(s.x2), py(s.y2))
          .lineWidth(s.strokeWidth * scale);
        if (s.dash) doc.dash(s.dash * scale, { space: s.dash * scale });
        doc.stroke(s.stroke).undash();
        break;
      case 'polyline': {
        const [first, ...rest] = s.points;
        if (!first) break;
        doc.moveTo(px(first[0]), py(first[1]));
        for (const [a, b] of rest) doc.lineTo(px(a), py(b));
        doc
          .lineWidth(s.strokeWidth * scale)
          .lineJoin('round')
          .stroke(s.stroke);
        break;
      }
      case 'circle':
        doc.circle(px(s.cx), py(s.cy), s.r * scale).fill(s.fill);
        break;
      case 'text': {
        doc
          .font(s.bold ? 'bold' : 'regular')
          .fontSize(s.size * scale)
          .fillColor(s.fill);
        const w = doc.widthOfString(checkPrintable(s.text));
        const left = px(s.x) - (s.anchor === 'middle' ? w / 2 : s.anchor === 'end' ? w : 0);
        doc.text(s.text, left, py(s.y), { lineBreak: false, baseline: 'alphabetic' });
        placed.push(s.text);
        break;
      }
    }
  }
  doc.restore();
  doc.fillColor('black');
  return placed;
}

/** Renders a weekly report's PDF: the bytes, and every string placed in it, one per line. */
export async function renderWeeklyReportPdf(r: ReportInput, language: ReportLanguage): Promise<{ pdf: Buffer; text: string }> {
  if (language !== 'zh-CN' && language !== 'en') throw invalidInput(`unknown language: ${JSON.stringify(language)}`);
  const t = reportText(language);
  const tz = r.week.timeZone;
  const content = reportContent(r.figures, { recovery: r.month, scope: 'week', currency: r.currency, timeZone: tz, language });
  const { regular, bold } = loadFonts();
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: PAGE.top, bottom: 20, left: PAGE.left, right: PAGE.right },
    lang: language,
    displayTitle: true,
    info: { Title: `${t.weeklyTitle} ${r.reportKey}`, Subject: r.reportKey, Creator: 'Recoup' },
  });
  const pdf = toBuffer(doc);
  doc.registerFont('regular', regular);
  doc.registerFont('bold', bold);

  const lines: string[] = [];
  let y = PAGE.top;
  /** Places one string at (x, y) (top of the line); `align` right or centre within `width` from x. */
  const put = (
    s: string,
    x: number,
    at: number,
    o: { size: number; bold?: boolean; color?: string; align?: 'right' | 'center'; width?: number },
  ) => {
    doc
      .font(o.bold ? 'bold' : 'regular')
      .fontSize(o.size)
      .fillColor(o.color ?? 'black');
    const w = doc.widthOfString(checkPrintable(s));
    const left = o.align === 'right' ? x + (o.width ?? 0) - w : o.align === 'center' ? x + ((o.width ?? 0) - w) / 2 : x;
    doc.text(s, left, at, { lineBreak: false });
  };
  const line = (s: string, o: { size: number; bold?: boolean; color?: string; align?: 'center'; gap?: number }) => {
    put(s, PAGE.left, y, { ...o, width: CONTENT_WIDTH });
    lines.push(s);
    y += o.size * 1.5 + (o.gap ?? 0);
  };
  const heading = (s: string) => line(s, { size: SIZE.heading, bold: true, gap: HEADING_HEIGHT - SIZE.heading * 1.5 });
  const rule = (x0: number, x1: number, at: number, width: number, color: string) =>
    doc.moveTo(x0, at).lineTo(x1, at).lineWidth(width).stroke(color);
  const footer = () => {
    const at = PAGE.height - 40;
    rule(PAGE.left, PAGE.left + CONTENT_WIDTH, at - 5, 0.5, '#a0aec0');
    for (const [i, s] of [t.footer(r.reportKey, r.snapshotNo), t.statusLine(r.status)].entries()) {
      put(s, PAGE.left, at + i * 10, { size: SIZE.footer, color: '#4a5568' });
      lines.push(s);
    }
  };
  const newPage = () => {
    footer();
    doc.addPage();
    y = PAGE.top;
  };
  /** A table: the first column left-aligned, the others right-aligned in their widths. */
  const table = (tb: Table, widths: number[], size: number = SIZE.table) => {
    const row = (cells: string[], header: boolean) => {
      if (y + ROW_HEIGHT > PAGE.height - PAGE.bottom) newPage();
      let x = PAGE.left;
      cells.forEach((cell, i) => {
        const width = widths[i] ?? 60;
        put(cell, x, y, { size, color: header ? '#4a5568' : 'black', ...(i > 0 ? { align: 'right' as const, width } : {}) });
        x += width;
      });
      lines.push(cells.join('\t'));
      y += ROW_HEIGHT;
    };
    const right = PAGE.left + widths.reduce((a, b) => a + b, 0);
    row(tb.header, true);
    rule(PAGE.left, right, y - 2.5, 0.5, '#a0aec0');
    for (const cells of tb.rows) row(cells, false);
    y += 8;
  };

  // Page 1: the week in totals and charts.
  line(t.weeklyTitle, { size: SIZE.title, bold: true, align: 'center', gap: 2 });
  line(t.week(localDateTime(r.week.start, tz), localDateTime(r.week.end, tz), tz), { size: SIZE.meta, color: '#4a5568', align: 'center' });
  y += 4;
  heading(t.summary);
  table(content.totals, [230, CONTENT_WIDTH - 230]);
  for (const [kind, title] of [
    ['aging', t.aging],
    ['recovery', t.recovery],
    ['trend', t.trend],
  ] as const) {
    const box = CHART_BOXES[kind];
    y = box.y - HEADING_HEIGHT;
    heading(title);
    const chart = content.charts[kind];
    lines.push(...drawChart(doc, chart, box.x, box.y, box.width / chart.width));
  }

  // Page 2: how the cases moved, and where they are.
  newPage();
  heading(t.rollRates);
  if (content.rollRates) {
    line(content.rollRatesPeriod ?? '', { size: SIZE.small, color: '#4a5568' });
    table(content.rollRates, [46, 46, ...Array<number>(6).fill(44), 50, 66], SIZE.small);
  } else {
    line(t.noRollRates, { size: SIZE.table, gap: 8 });
  }
  const small = [200, 80];
  heading(t.stages);
  table(content.stages, small);
  heading(t.treatments);
  table(content.treatments, small);
  heading(t.legal);
  table(content.legal, [200, 80, 140]);
  footer();
  doc.end();
  return { pdf: await pdf, text: lines.join('\n') };
}
