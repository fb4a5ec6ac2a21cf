/**
 * The report pages a supervisor opens in a browser (issue 14): the weekly report and today's portfolio, each a
 * whole HTML document with its charts as inline SVG (shared/charts.ts, the model the PDF draws). No script and
 * nothing loaded: inline CSS and inline SVG only, so the strict CSP of the routes holds. Every text is escaped.
 */
import { addDays } from '../shared/calendar';
import { escapeHtml, localDateTime, reportContent, reportText, toSvg, type ReportLanguage, type Table } from '../shared/charts';
import type { PortfolioFigures, WeeklyFigures } from '../db/figures';

type Content = ReturnType<typeof reportContent>;

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f7fafc; color: #1a202c; font: 14px/1.5 'Noto Sans SC', 'Noto Sans CJK SC', 'PingFang SC',
  'Microsoft YaHei', system-ui, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 8px; }
.meta { color: #4a5568; margin: 0 0 4px; }
nav { margin: 12px 0 20px; }
nav a { display: inline-block; margin-right: 12px; padding: 4px 10px; border: 1px solid #cbd5e0; border-radius: 4px; background: #fff;
  color: #2b6cb0; text-decoration: none; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(480px, 100%), 1fr)); gap: 16px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 16px; margin-bottom: 16px; }
figure { margin: 0; }
.grid > * { min-width: 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e2e8f0; text-align: right; overflow-wrap: anywhere; }
th:first-child, td:first-child { text-align: left; }
th { color: #4a5568; font-weight: normal; }
footer { color: #4a5568; font-size: 12px; margin-top: 8px; }
`;

function tableHtml(t: Table): string {
  const cells = (tag: 'th' | 'td', row: string[]) => row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');
  return (
    `<table><thead><tr>${cells('th', t.header)}</tr></thead>` +
    `<tbody>${t.rows.map((r) => `<tr>${cells('td', r)}</tr>`).join('')}</tbody></table>`
  );
}

const section = (title: string, body: string) => `<section><h2>${escapeHtml(title)}</h2>${body}</section>`;

function document(language: ReportLanguage, title: string, body: string): string {
  return (
    `<!doctype html>\n<html lang="${language}"><head><meta charset="utf-8">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light">' +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body><main>${body}</main></body></html>\n`
  );
}

/** The charts, the totals and the tables of a report's content. */
function contentHtml(c: Content, language: ReportLanguage): string {
  const t = reportText(language);
  const chart = (kind: keyof Content['charts'], title: string) => section(title, `<figure>${toSvg(c.charts[kind], { title })}</figure>`);
  return (
    `<div class="grid">${section(t.summary, tableHtml(c.totals))}${chart('aging', t.aging)}</div>` +
    `<div class="grid">${chart('recovery', t.recovery)}${chart('trend', t.trend)}</div>` +
    section(
      t.rollRates,
      c.rollRates
        ? `<p class="meta">${escapeHtml(c.rollRatesPeriod ?? '')}</p>${tableHtml(c.rollRates)}`
        : `<p>${escapeHtml(t.noRollRates)}</p>`,
    ) +
    `<div class="grid">${section(t.stages, tableHtml(c.stages))}${section(t.treatments, tableHtml(c.treatments))}</div>` +
    section(t.legal, tableHtml(c.legal))
  );
}

/** The experiments that ran in the week, each arm's recovery and costs, and the difference at day 30 with its interval. */
function experimentsHtml(experiments: NonNullable<WeeklyFigures['experiments']>, language: ReportLanguage): string {
  if (experiments.length === 0) return '';
  const t = reportText(language);
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
  const num = (x: number | null) => (x === null ? '—' : String(x));
  return section(
    t.experiments,
    experiments
      .map((e) => {
        const rate = (a: (typeof e.results.arms)[number], day: number) => a.recovery.find((x) => x.day === day)?.rate ?? null;
        const d30 = e.results.difference.find((d) => d.day === 30);
        const diff =
          d30?.value != null && d30.ci95 ? t.difference(30, pct(d30.value), pct(d30.ci95[0]), pct(d30.ci95[1])) : t.noDifference(30);
        return (
          `<h3>${escapeHtml(`${e.name} (${e.experimentId}, ${t.experimentStatus(e.status)})`)}</h3>` +
          tableHtml({
            header: [...t.experimentHeader],
            rows: e.results.arms.map((a) => [
              t.arm(a.arm),
              `${a.playbookId} v${a.playbookVersion}`,
              String(a.cases),
              pct(rate(a, 30)),
              pct(rate(a, 90)),
              num(a.costPerUnitRecovered),
              String(a.promises.broken),
              num(a.medianDaysToClose),
            ]),
          }) +
          `<p class="meta">${escapeHtml(diff)}</p>`
        );
      })
      .join(''),
  );
}

const link = (href: string, label: string, hreflang?: string) =>
  `<a href="${escapeHtml(href)}"${hreflang ? ` hreflang="${hreflang}"` : ''}>${escapeHtml(label)}</a>`;

/** A weekly report's page: its week, totals and charts, with links to its PDF, its CSV and the other language. */
export function weeklyReportHtml(
  r: WeeklyFigures & { reportKey: string; snapshotNo: number; status: string },
  language: ReportLanguage,
  links: { pdf: string; csv: string; other: string },
): string {
  const t = reportText(language);
  const tz = r.week.timeZone;
  const c = reportContent(r.figures, { recovery: r.month, scope: 'week', currency: r.currency, timeZone: tz, language });
  const nav = [link(links.pdf, t.pdf), link(links.csv, t.csv), link(links.other, t.otherLanguage, language === 'en' ? 'zh-CN' : 'en')];
  return document(
    language,
    `${t.weeklyTitle} ${r.reportKey}`,
    `<h1>${escapeHtml(t.weeklyTitle)}</h1>` +
      `<p class="meta">${escapeHtml(t.week(localDateTime(r.week.start, tz), localDateTime(r.week.end, tz), tz))}</p>` +
      `<nav>${nav.join('')}</nav>` +
      contentHtml(c, language) +
      experimentsHtml(r.experiments ?? [], language) +
      `<footer><p>${escapeHtml(t.footer(r.reportKey, r.snapshotNo))}</p><p>${escapeHtml(t.statusLine(r.status))}</p></footer>`,
  );
}

/** Today's portfolio: the period's figures as of now, with the same charts (recovery against the period's target). */
export function portfolioHtml(
  p: PortfolioFigures & {
    asOf: string;
    period: { kind: string; start: string; end: string; timeZone: string };
    teamId?: string;
    currency?: string;
  },
  language: ReportLanguage,
): string {
  const t = reportText(language);
  const tz = p.period.timeZone;
  const c = reportContent(p, { recovery: p.recovery, scope: 'period', currency: p.currency ?? 'CNY', timeZone: tz, language });
  const other = language === 'en' ? 'zh-CN' : 'en';
  const query = new URLSearchParams({ lang: other, period: p.period.kind, timeZone: tz, ...(p.teamId ? { teamId: p.teamId } : {}) });
  return document(
    language,
    t.portfolioTitle,
    `<h1>${escapeHtml(t.portfolioTitle)}</h1>` +
      `<p class="meta">${escapeHtml(t.asOf(localDateTime(p.asOf, tz), tz))}</p>` +
      `<p class="meta">${escapeHtml(t.period(p.period.start, addDays(p.period.end, -1)))}</p>` +
      (p.teamId ? `<p class="meta">${escapeHtml(t.team(p.teamId))}</p>` : '') +
      `<nav>${link(`portfolio.html?${query.toString()}`, t.otherLanguage, other)}</nav>` +
      contentHtml(c, language),
  );
}
